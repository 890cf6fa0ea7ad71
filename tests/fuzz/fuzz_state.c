/* fuzz_state.c: the reading of state.json at start (engine/registry.h,
 * registry_new): json_load_file, then experiment_parse(EXP_FROM_STATE)
 * for each entry of "experiments", and "file_fingerprints". state.json is
 * written by upshotd itself, but a disk, a restore or a hand edit can
 * leave anything there.
 *
 * The reading is not split from the file: registry_new takes a data
 * directory, so each input is written to state.json in a temporary
 * directory (made once) and read back. That is file I/O per input, which
 * makes this harness slower than the pure ones; it links upshot_engine.
 *
 * Checks beyond the sanitizers: a refusal says why; a registry that
 * loads holds each experiment of the document by its key (the last entry
 * of a repeated key) and nothing else, in key order, each with a
 * definition that loads again as state; loading the same file twice gives
 * the same registry. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/upshot-fuzz-state-XXXXXX";
static char path[sizeof dir + 16];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

static void check_loaded(const registry *r, json_t *doc)
{
    json_t *list = json_object_get(doc, "experiments");
    size_t i;
    json_t *def;
    json_t *keys = json_object();
    json_array_foreach(list, i, def) {
        const char *key = json_string_value(json_object_get(def, "key"));
        if (!key)
            abort(); /* loaded without a key */
        json_object_set(keys, key, def);
    }
    if (registry_count(r) != json_object_size(keys))
        abort();
    for (size_t k = 0; k < registry_count(r); k++) {
        experiment *e = registry_at(r, k);
        if (k > 0 && strcmp(registry_at(r, k - 1)->key, e->key) >= 0)
            abort(); /* not in key order, or a key twice */
        if (!json_object_get(keys, e->key) || registry_get(r, e->key) != e)
            abort();
        char err[EXP_ERR_MAX];
        experiment *again = experiment_parse(e->def, EXP_FROM_STATE, err);
        if (!again)
            abort();
        experiment_release(again);
    }
    json_decref(keys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof path, "%s/state.json", dir);
        atexit(cleanup);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    char err[REGISTRY_ERR_MAX] = "", err2[REGISTRY_ERR_MAX] = "";
    registry *r = registry_new(dir, err);
    registry *r2 = registry_new(dir, err2);
    if (!r != !r2 || strcmp(err, err2) != 0)
        abort(); /* the same file read twice answers differently */
    if (!r) {
        if (!err[0])
            abort(); /* refused without saying why */
    } else {
        json_t *doc = json_loadb((const char *)data, size, 0, NULL);
        if (doc) {
            check_loaded(r, doc);
            if (registry_count(r) != registry_count(r2))
                abort();
            for (size_t k = 0; k < registry_count(r); k++)
                if (!json_equal(registry_at(r, k)->def, registry_at(r2, k)->def))
                    abort();
        } else if (registry_count(r) != 0) {
            abort(); /* an unreadable file taken as a state */
        }
        json_decref(doc);
    }
    registry_free(r);
    registry_free(r2);
    return 0;
}
