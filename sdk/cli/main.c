/* main.c: the `upshot` executable. Everything lives in upshot_cli_core
 * (cli_dispatch.c is the dispatcher) so tests run the same code in-process. */
#include <signal.h>
#include <stdio.h>

#include "cli.h"
#include "stats_core.h"

int main(int argc, char **argv)
{
    stats_init();
    /* A closed pipe (upshot ls | head) ends us quietly via EPIPE on write. */
    signal(SIGPIPE, SIG_IGN);
    return cli_run(argc, argv, stdout, stderr);
}
