/* cli_suggest.c: edit distance and the closest candidate (cli_suggest.h). */
#include "cli_suggest.h"

#include <stdint.h>
#include <string.h>

size_t cli_suggest_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > CLI_SUGGEST_MAX_LEN || m > CLI_SUGGEST_MAX_LEN) return SIZE_MAX;
    /* three rows of the dynamic programme: i-2, i-1, i */
    size_t rows[3][CLI_SUGGEST_MAX_LEN + 1];
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++) prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev[j] + 1;                        /* delete */
            if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1; /* insert */
            if (prev[j - 1] + cost < best) best = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                pp[j - 2] + 1 < best)
                best = pp[j - 2] + 1;                          /* swap */
            cur[j] = best;
        }
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[m];
}

const char *cli_suggest_best(const char *word, const char *const *cands, size_t n)
{
    size_t len = strlen(word);
    size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (cands[i] == NULL || strcmp(cands[i], word) == 0) continue;
        size_t d = cli_suggest_distance(word, cands[i]);
        if (d <= limit && d < best_d) {
            best = cands[i];
            best_d = d;
        }
    }
    return best;
}
