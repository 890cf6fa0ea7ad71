/* fuzz_config.c: config_parse (engine/core/config.h) on arbitrary text.
 *
 * The config file is read at start-up and on every reload (SIGHUP, the
 * admin endpoint); a bad file must be refused with a message, never crash
 * the server. Besides ASan/UBSan/leak reports, the harness checks the
 * contract: a refusal names what is wrong (err is a non-empty string). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "env:NAME" tokens resolve for names starting A-M, not for the others. */
static char *fuzz_getenv(const char *name)
{
    static char value[] = "a-token-from-the-environment-0123456789";
    return name[0] >= 'A' && name[0] <= 'M' ? value : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    upshot_config c;
    char err[CONFIG_ERR_MAX];
    memset(err, 0, sizeof err);
    if (config_parse(text, "/etc/upshot", fuzz_getenv, &c, err))
        config_free(&c);
    else if (!err[0] || !memchr(err, 0, sizeof err))
        abort(); /* refused without saying why */
    free(text);
    return 0;
}
