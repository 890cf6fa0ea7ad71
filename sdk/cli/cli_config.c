/* cli_config.c: flags > environment > config file > defaults
 * (the order is documented in cli_config.h and docs/cli.md). */
#include "cli_config.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Sets a field; reports truncation as an error rather than a silent cut. */
static int config_set(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap) return -1;
    memcpy(dst, v, n);
    dst[n] = '\0';
    return 0;
}

static int config_timeout(const char *v, double *out)
{
    char *end = NULL;
    errno = 0;
    double t = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !(t > 0) || t > 3600) return -1;
    *out = t;
    return 0;
}

int cli_config_parse(const char *text, cli_settings *s, char *err, size_t errcap)
{
    int lineno = 0;
    const char *p = text;
    while (*p) {
        lineno++;
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[2048];
        if (len >= sizeof line) {
            snprintf(err, errcap, "line %d: longer than %zu characters", lineno,
                     sizeof line - 1);
            return -1;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        p = eol ? eol + 1 : p + len;

        char *a = line;
        while (isspace((unsigned char)*a)) a++;
        char *z = a + strlen(a);
        while (z > a && isspace((unsigned char)z[-1])) *--z = '\0';
        if (*a == '\0' || *a == '#') continue;

        char *eq = strchr(a, '=');
        if (eq == NULL) {
            snprintf(err, errcap, "line %d: expected key = value", lineno);
            return -1;
        }
        char *k = a, *kz = eq;
        while (kz > k && isspace((unsigned char)kz[-1])) kz--;
        *kz = '\0';
        char *v = eq + 1;
        while (isspace((unsigned char)*v)) v++;
        size_t vlen = strlen(v);
        if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
            v[vlen - 1] = '\0';
            v++;
            vlen -= 2;
        }

        int bad = 0;
        if (strcmp(k, "url") == 0) {
            bad = config_set(s->url, sizeof s->url, v, vlen);
            if (!bad) snprintf(s->url_from, sizeof s->url_from, "config file");
        } else if (strcmp(k, "token") == 0) {
            if (strncmp(v, "env:", 4) == 0) {
                const char *ev = getenv(v + 4);
                if (ev == NULL || *ev == '\0') {
                    snprintf(err, errcap, "line %d: token = %s, but %s is not set",
                             lineno, v, v + 4);
                    return -1;
                }
                bad = config_set(s->token, sizeof s->token, ev, strlen(ev));
            } else {
                bad = config_set(s->token, sizeof s->token, v, vlen);
            }
            if (!bad) snprintf(s->token_from, sizeof s->token_from, "config file");
        } else if (strcmp(k, "actor") == 0) {
            bad = config_set(s->actor, sizeof s->actor, v, vlen);
        } else if (strcmp(k, "timeout") == 0) {
            if (config_timeout(v, &s->timeout_s) != 0) {
                snprintf(err, errcap, "line %d: timeout must be seconds in (0, 3600]",
                         lineno);
                return -1;
            }
        } else {
            snprintf(err, errcap, "line %d: unknown key \"%s\" (known: url, token, "
                     "actor, timeout)", lineno, k);
            return -1;
        }
        if (bad) {
            snprintf(err, errcap, "line %d: value of %s is too long", lineno, k);
            return -1;
        }
    }
    return 0;
}

/* Reads a whole small file; NULL with errno set on failure. */
static char *config_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
        if (n + 1 == cap) {
            if (cap >= (1u << 20)) break; /* a config file is small */
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) { free(buf); buf = NULL; break; }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

static void config_default_path(char *out, size_t cap)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    if (xdg != NULL && xdg[0] == '/') {
        snprintf(out, cap, "%s/upshot/config", xdg);
        return;
    }
    const char *home = getenv("HOME");
    if (home == NULL || home[0] == '\0') {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : "/";
    }
    snprintf(out, cap, "%s/.config/upshot/config", home);
}

int cli_config_resolve(const char *flag_url, const char *flag_token,
                       const char *flag_actor, const char *flag_timeout,
                       cli_settings *s, FILE *warn, char *err, size_t errcap)
{
    memset(s, 0, sizeof *s);
    snprintf(s->url, sizeof s->url, "%s", CLI_CONFIG_DEFAULT_URL);
    snprintf(s->url_from, sizeof s->url_from, "default");
    s->timeout_s = CLI_CONFIG_DEFAULT_TIMEOUT;
    const char *user = getenv("USER");
    if (user == NULL || *user == '\0') {
        struct passwd *pw = getpwuid(getuid());
        user = pw ? pw->pw_name : "unknown";
    }
    snprintf(s->actor, sizeof s->actor, "%s", user);

    /* 3. the file */
    const char *explicit_path = getenv("UPSHOT_CONFIG");
    if (explicit_path != NULL && *explicit_path != '\0')
        snprintf(s->config_path, sizeof s->config_path, "%s", explicit_path);
    else
        config_default_path(s->config_path, sizeof s->config_path);
    char *text = config_slurp(s->config_path);
    if (text == NULL && explicit_path != NULL && *explicit_path != '\0') {
        snprintf(err, errcap, "cannot read config file %s (from UPSHOT_CONFIG): %s",
                 s->config_path, strerror(errno));
        return -1;
    }
    if (text != NULL) {
        char perr[300];
        if (cli_config_parse(text, s, perr, sizeof perr) != 0) {
            snprintf(err, errcap, "config file %s: %s", s->config_path, perr);
            free(text);
            return -1;
        }
        free(text);
        struct stat st;
        if (s->token[0] && warn && stat(s->config_path, &st) == 0 &&
            (st.st_mode & 077) != 0)
            fprintf(warn, "upshot: warning: %s holds the admin token and is readable "
                    "by others (chmod 600 it)\n", s->config_path);
    }

    /* 2. the environment */
    const char *e;
    if ((e = getenv("UPSHOT_URL")) != NULL && *e) {
        snprintf(s->url, sizeof s->url, "%s", e);
        snprintf(s->url_from, sizeof s->url_from, "UPSHOT_URL");
    }
    if ((e = getenv("UPSHOT_TOKEN")) != NULL && *e) {
        snprintf(s->token, sizeof s->token, "%s", e);
        snprintf(s->token_from, sizeof s->token_from, "UPSHOT_TOKEN");
    }
    if ((e = getenv("UPSHOT_ACTOR")) != NULL && *e)
        snprintf(s->actor, sizeof s->actor, "%s", e);
    if ((e = getenv("UPSHOT_TIMEOUT")) != NULL && *e &&
        config_timeout(e, &s->timeout_s) != 0) {
        snprintf(err, errcap, "UPSHOT_TIMEOUT must be seconds in (0, 3600]");
        return -1;
    }

    /* 1. flags */
    if (flag_url) {
        snprintf(s->url, sizeof s->url, "%s", flag_url);
        snprintf(s->url_from, sizeof s->url_from, "--url");
    }
    if (flag_token) {
        snprintf(s->token, sizeof s->token, "%s", flag_token);
        snprintf(s->token_from, sizeof s->token_from, "--token");
    }
    if (flag_actor) snprintf(s->actor, sizeof s->actor, "%s", flag_actor);
    if (flag_timeout && config_timeout(flag_timeout, &s->timeout_s) != 0) {
        snprintf(err, errcap, "--timeout must be seconds in (0, 3600]");
        return -1;
    }
    /* A trailing slash would double up with the API paths. */
    size_t n = strlen(s->url);
    while (n > 0 && s->url[n - 1] == '/') s->url[--n] = '\0';
    return 0;
}
