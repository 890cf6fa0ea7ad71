/* audit.c: the append-only audit log (see audit.h). */
#include "audit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"

int audit_append(const char *data_dir, const char *actor, const char *action,
                 const char *exp_key, const char *reason, json_t *details)
{
    char ts[32], path[1100];
    registry_now_rfc3339(ts);
    json_t *e = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:o?}", "ts", ts, "actor",
                          actor && *actor ? actor : "unknown", "action", action,
                          "experiment", exp_key, "reason", reason, "details", details);
    if (!e)
        return -1;
    char *line = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    if (!line)
        return -1;
    snprintf(path, sizeof path, "%s/audit.jsonl", data_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int rc = -1;
    if (fd >= 0) {
        size_t len = strlen(line);
        line[len] = '\n'; /* replaces the terminator; written with its length */
        rc = write(fd, line, len + 1) == (ssize_t)(len + 1) && fdatasync(fd) == 0 ? 0 : -1;
        close(fd);
    }
    free(line);
    return rc;
}

json_t *audit_read(const char *data_dir, const char *exp_key, size_t limit)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/audit.jsonl", data_dir);
    json_t *all = json_array();
    FILE *f = fopen(path, "r");
    if (!f)
        return all;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *e = json_loads(line, 0, NULL);
        if (!e)
            continue;
        const char *x = json_string_value(json_object_get(e, "experiment"));
        if (!exp_key || (x && strcmp(x, exp_key) == 0))
            json_array_append_new(all, e);
        else
            json_decref(e);
    }
    free(line);
    fclose(f);
    while (json_array_size(all) > limit)
        json_array_remove(all, 0);
    return all;
}
