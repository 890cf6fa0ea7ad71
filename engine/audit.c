/* audit.c: audit log entries (see audit.h). */
#include "audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

char *audit_entry(const char *actor, const char *action, const char *exp_key, const char *reason,
                  json_t *details)
{
    char ts[32];
    registry_now_rfc3339(ts);
    json_t *e = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:o?}", "ts", ts, "actor",
                          actor && *actor ? actor : "unknown", "action", action,
                          "experiment", exp_key, "reason", reason, "details", details);
    if (!e)
        return NULL;
    char *line = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return line;
}

json_t *audit_filter(const char *const *lines, size_t n, const char *exp_key, size_t limit)
{
    json_t *all = json_array();
    if (!all)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_loads(lines[i], 0, NULL);
        if (!e)
            continue;
        const char *x = json_string_value(json_object_get(e, "experiment"));
        if (!exp_key || (x && strcmp(x, exp_key) == 0))
            json_array_append_new(all, e);
        else
            json_decref(e);
    }
    while (json_array_size(all) > limit)
        json_array_remove(all, 0);
    return all;
}

json_t *audit_read_legacy(const char *data_dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/audit.jsonl", data_dir);
    json_t *lines = json_array();
    FILE *f = lines ? fopen(path, "r") : NULL;
    if (!f)
        return lines;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        json_t *e = len ? json_loads(line, 0, NULL) : NULL;
        if (json_is_object(e))
            json_array_append_new(lines, json_string(line));
        json_decref(e);
    }
    free(line);
    fclose(f);
    return lines;
}
