/* keyslot_tool: prints keyslot_of() of each line read on stdin, one slot
 * a line, so that an integration test can compare upshotd's key slots
 * with `CLUSTER KEYSLOT` answers of a real cluster (test_cluster_router).
 * Lines are keys without their newline; bytes are taken as they are. */
#include <stdio.h>
#include <string.h>

#include "keyslot.h"

int main(void)
{
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strcspn(line, "\n");
        printf("%u\n", keyslot_of(line, n));
    }
    return 0;
}
