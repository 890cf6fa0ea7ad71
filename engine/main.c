/* main.c: upshotd's entry point: arguments, signals, the event loop.
 *
 *   upshotd --config FILE
 *   upshotd --check-config FILE   exit 0: valid ("OK"), 1: invalid (the error), 2: usage
 *   upshotd --version
 *   upshotd --hash-token < token     the "sha256" line of an admin_tokens entry
 *
 * SIGHUP reloads the config file and reopens the access log (after
 * logrotate moved it); SIGTERM and SIGINT drain the journal into Redis
 * (at most 5 s) and exit 0. Everything else is in server.c. */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "access_log.h"
#include "log.h"
#include "server.h"
#include "version.h"
#include "sha256.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: upshotd --config FILE\n"
                 "       upshotd --check-config FILE\n"
                 "       upshotd --version\n"
                 "  Serves offer variants and records exposures, conversions and declines\n"
                 "  in Redis. docs/config.md describes FILE; docs/api.md the HTTP API.\n"
                 "  SIGHUP reloads FILE; SIGTERM drains and exits. --check-config prints OK\n"
                 "  and exits 0 when FILE is valid, else the error and exits 1.\n"
                 "       upshotd --hash-token < TOKEN_FILE\n"
                 "  Prints the \"sha256\" field of an admin_tokens entry for the token on\n"
                 "  the first line of standard input.\n");
}

/* --hash-token: the token is the first line of stdin (its line end
 * dropped), so it never shows in a process list or a shell history. */
static int hash_token(void)
{
    char line[1024];
    if (!fgets(line, sizeof line, stdin)) {
        fprintf(stderr, "upshotd: --hash-token reads the token from standard input\n");
        return 2;
    }
    size_t n = strcspn(line, "\r\n");
    line[n] = '\0';
    if (n < 16) {
        fprintf(stderr, "upshotd: an admin token needs at least 16 characters\n");
        return 2;
    }
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex(line, n, hex);
    memset(line, 0, sizeof line);
    printf("\"sha256\": \"%s\"\n", hex);
    return 0;
}

static void on_reloaded(void *arg, registry_status st, const char *err)
{
    if (st != REGISTRY_OK)
        log_msg(LOG_ERROR, "reload failed, keeping the running config: %s", err);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    char err[512];
    if (access_log_reopen(err, sizeof err) != 0)
        log_msg(LOG_ERROR, "%s; the access log is off", err);
    registry_status st = upshotd_reload(arg, "sighup", on_reloaded, NULL, err, sizeof err);
    if (st != REGISTRY_OK)
        on_reloaded(NULL, st, err);
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
    upshotd_begin_shutdown(arg);
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "--version") == 0 && argc == 2) {
            printf("upshotd %s%s%s%s\n", UPSHOT_VERSION, UPSHOT_GIT_DESCRIBE[0] ? " (" : "",
                   UPSHOT_GIT_DESCRIBE, UPSHOT_GIT_DESCRIBE[0] ? ")" : "");
            return 0;
        } else if (strcmp(argv[i], "--check-config") == 0 && argc == 3) {
            char err[1024];
            if (upshotd_check_config(argv[2], err, sizeof err) != 0) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            printf("OK\n");
            return 0;
        } else if (strcmp(argv[i], "--hash-token") == 0) {
            return hash_token();
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!config) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* The epoll changelist folds the event changes of one loop turn into
     * at most one epoll_ctl per descriptor. evhttp disables and re-enables
     * reading and writing around every request, so without it each
     * request cost about four epoll_ctl calls (strace), a tenth of the
     * server's CPU under load. libevent's one caveat, descriptors shared
     * through dup(), does not arise here: every socket is our own. */
    struct event_config *ecfg = event_config_new();
    if (ecfg)
        event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = ecfg ? event_base_new_with_config(ecfg) : NULL;
    if (ecfg)
        event_config_free(ecfg);
    if (!base)
        base = event_base_new();
    if (!base) {
        log_msg(LOG_ERROR, "cannot create the event loop");
        return 1;
    }
    static upshotd d;
    char err[1024];
    if (upshotd_init(&d, base, config, err, sizeof err) != 0) {
        log_msg(LOG_ERROR, "%s", err);
        upshotd_free(&d);
        event_base_free(base);
        return 1;
    }
    struct event *hup = evsignal_new(base, SIGHUP, on_hup, &d);
    struct event *term = evsignal_new(base, SIGTERM, on_term, &d);
    struct event *intr = evsignal_new(base, SIGINT, on_term, &d);
    event_add(hup, NULL);
    event_add(term, NULL);
    event_add(intr, NULL);

    event_base_dispatch(base);

    event_free(hup);
    event_free(term);
    event_free(intr);
    upshotd_free(&d);
    event_base_free(base);
    log_msg(LOG_INFO, "stopped");
    return 0;
}
