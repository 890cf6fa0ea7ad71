/* test_cli_fake.h: a fake upshotd for the CLI's unit tests.
 *
 * An evhttp server on 127.0.0.1 (a free port) in a child process of the
 * test, answering from a table of canned routes and recording the last
 * request it saw (method, URI, Authorization, X-Upshot-Actor, body) in
 * memory shared with the test, so a test can run a command in-process and
 * check both what the command printed and what it sent. A child process
 * rather than a thread keeps the test process single-threaded, as
 * Criterion's workers expect. The integration tests (tests/integration/
 * test_cli.py) run the real upshotd; this one exists to test rendering,
 * errors and exit codes without Redis.
 *
 * Stopping: SIGKILL to the child, then waitpid; the child also dies with
 * its parent (PR_SET_PDEATHSIG), so a crashed test leaves nothing behind.
 */
#ifndef UPSHOT_TEST_CLI_FAKE_H
#define UPSHOT_TEST_CLI_FAKE_H

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define FAKE_MAX_ROUTES 16

typedef struct fake_route {
    const char *method;  /* "GET", ... */
    const char *path;    /* exact URI match including the query */
    int status;
    char *body;          /* owned */
} fake_route;

typedef struct fake_server {
    pid_t child;
    int port;
    char url[64];
    fake_route routes[FAKE_MAX_ROUTES];
    int nroutes;
    const char *required_token;     /* when set, other tokens get 401 */
    /* last request seen */
    char last_method[16];
    char last_uri[512];
    char last_auth[256];
    char last_actor[128];
    char last_body[4096];
    int requests;
} fake_server;

static const char *fake_method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    default: return "OTHER";
    }
}

static void fake_reply(struct evhttp_request *req, int status, const char *body)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, strlen(body));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, status, "X", b);
    evbuffer_free(b);
}

static void fake_handle(struct evhttp_request *req, void *arg)
{
    fake_server *s = arg;
    const char *uri = evhttp_request_get_uri(req);
    s->requests++;
    const char *m = fake_method_name(evhttp_request_get_command(req));
    snprintf(s->last_method, sizeof s->last_method, "%s", m);
    snprintf(s->last_uri, sizeof s->last_uri, "%s", uri);
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *auth = evhttp_find_header(h, "Authorization");
    const char *actor = evhttp_find_header(h, "X-Upshot-Actor");
    snprintf(s->last_auth, sizeof s->last_auth, "%s", auth ? auth : "");
    snprintf(s->last_actor, sizeof s->last_actor, "%s", actor ? actor : "");
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n >= sizeof s->last_body) n = sizeof s->last_body - 1;
    evbuffer_remove(in, s->last_body, n);
    s->last_body[n] = '\0';
    if (s->required_token) {
        char want[300];
        snprintf(want, sizeof want, "Bearer %s", s->required_token);
        if (auth == NULL || strcmp(auth, want) != 0) {
            fake_reply(req, 401, "{\"error\":\"unauthorized\",\"message\":\"bad token\"}");
            return;
        }
    }
    for (int i = 0; i < s->nroutes; i++)
        if (strcmp(s->routes[i].method, m) == 0 && strcmp(s->routes[i].path, uri) == 0) {
            fake_reply(req, s->routes[i].status, s->routes[i].body);
            return;
        }
    fake_reply(req, 404, "{\"error\":\"not_found\",\"message\":\"unknown experiment\"}");
}

/* Adds a route; body is copied. */
static void fake_route_add(fake_server *s, const char *method, const char *path, int status,
                           const char *body)
{
    fake_route *r = &s->routes[s->nroutes++];
    r->method = method;
    r->path = path;
    r->status = status;
    r->body = strdup(body);
}

/* Reads a fixture file of tests/unit/fixtures into a new string. */
static char *fake_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/unit/fixtures/%s", UPSHOT_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b) b[n] = '\0';
    fclose(f);
    return b;
}

/* A server in shared memory, so the test sees what the child recorded. */
static fake_server *fake_new(void)
{
    void *m = mmap(NULL, sizeof(fake_server), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    if (m == MAP_FAILED) return NULL;
    memset(m, 0, sizeof(fake_server));
    return m;
}

/* Binds a free port and forks the server; add routes before this. */
static int fake_start(fake_server *s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    s->port = ntohs(sa.sin_port);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    s->child = fork();
    if (s->child < 0) return -1;
    if (s->child == 0) {
        /* never outlive the test, whatever happens to it */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        struct event_base *base = event_base_new();
        struct evhttp *http = evhttp_new(base);
        evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                             EVHTTP_REQ_DELETE);
        evhttp_set_gencb(http, fake_handle, s);
        evutil_make_socket_nonblocking(fd);
        if (evhttp_accept_socket(http, fd) != 0) _exit(1);
        event_base_dispatch(base);
        _exit(0);
    }
    close(fd); /* the child owns the listening socket; connects queue on it */
    return 0;
}

/* Stops the child and frees the routes. */
static void fake_stop(fake_server *s)
{
    if (s->child > 0) {
        kill(s->child, SIGKILL);
        waitpid(s->child, NULL, 0);
        s->child = 0;
    }
    for (int i = 0; i < s->nroutes; i++) free(s->routes[i].body);
    s->nroutes = 0;
}

#endif
