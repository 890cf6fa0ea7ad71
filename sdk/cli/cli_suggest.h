/* cli_suggest.h: "did you mean" for mistyped command names and keys.
 *
 * The distance is the optimal string alignment distance (Levenshtein plus
 * the swap of two adjacent characters, the commonest typo: "shwo"). A
 * candidate is suggested only when it is close for the word's length, so
 * a word that resembles nothing gets no suggestion rather than a random
 * one. Pure, no allocation beyond a bounded stack row.
 */
#ifndef UPSHOT_CLI_SUGGEST_H
#define UPSHOT_CLI_SUGGEST_H

#include <stddef.h>

/* Words longer than this are not compared (keys are at most 64 bytes;
 * SIZE_MAX is returned for longer ones, i.e. "far"). */
#define CLI_SUGGEST_MAX_LEN 96

/* Edit distance between a and b, counting insertions, deletions,
 * substitutions and adjacent swaps as 1 each. */
size_t cli_suggest_distance(const char *a, const char *b);

/* The candidate closest to word among cands[0..n) when it is within the
 * threshold for word's length (1 up to 4 characters, 2 up to 8, else 3)
 * and is not word itself; the first of equals wins. NULL otherwise.
 * Returns a borrowed pointer into cands. */
const char *cli_suggest_best(const char *word, const char *const *cands, size_t n);

#endif
