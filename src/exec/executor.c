/* What the executors share beyond their interface. */
#include "exec/executor.h"

#include <stdio.h>

void executor_results_on_volume(executor_t *ex, const config_t *cfg, char *root, size_t cap)
{
    if (cfg->work_mount[0]) {
        snprintf(root, cap, "%s/results", cfg->work_mount);
        ex->results_root = root;
    } else {
        ex->results_unseen = 1;
    }
}
