#!/usr/bin/env nextflow
/*
 * The demo workflow on Kubernetes: GENERATE x N -> ANALYZE x N -> REPORT.
 *
 * Every process runs `pipeline-task` from the service's own image (process.container), the same binary the
 * local executor runs on a laptop. Each ANALYZE starts as soon as its own batch exists; REPORT gathers every
 * batch's statistics. Results are published to /workspace/results/<run name>/ on the shared work volume, where
 * the service reads report.json (WORK_MOUNT).
 *
 *   nextflow run demo.nf -name r0123456789a --batches 5 --rows 100 --seed 42 -ansi-log false
 */
nextflow.enable.dsl = 2

params.batches = 5
params.rows = 100
params.seed = 42
params.generate_seconds = 5
params.analyze_seconds = 3
params.results = '/workspace/results'
params.max_retries = 1  // TASK_RETRIES

/* A task killed from outside (exit 137: SIGKILL, the OOM killer; 143: SIGTERM, a pod evicted or its node drained)
 * or ended without an exit status (Nextflow's infrastructure errors) runs again, up to TASK_RETRIES more times; a
 * non-zero exit of pipeline-task itself is a real failure (each process below says so). */
outdir = "${params.results}/${workflow.runName}"

process GENERATE {
    errorStrategy { task.exitStatus in [137, 143, Integer.MAX_VALUE] ? 'retry' : 'terminate' }
    maxRetries params.max_retries
    tag "${batch}"
    publishDir outdir, mode: 'copy'

    input:
    val batch

    output:
    tuple val(batch), path("batch_${batch}.csv")

    script:
    """
    pipeline-task generate --batch=${batch} --rows=${params.rows} --seed=${params.seed} \
        --sleep=${params.generate_seconds} --out=batch_${batch}.csv
    """
}

process ANALYZE {
    errorStrategy { task.exitStatus in [137, 143, Integer.MAX_VALUE] ? 'retry' : 'terminate' }
    maxRetries params.max_retries
    tag "${batch}"
    publishDir outdir, mode: 'copy'

    input:
    tuple val(batch), path(csv)

    output:
    path "stats_batch_${batch}.json"

    script:
    """
    pipeline-task analyze --batch=${batch} --sleep=${params.analyze_seconds} --in=${csv} \
        --out=stats_batch_${batch}.json
    """
}

process REPORT {
    errorStrategy { task.exitStatus in [137, 143, Integer.MAX_VALUE] ? 'retry' : 'terminate' }
    maxRetries params.max_retries
    publishDir outdir, mode: 'copy'

    input:
    path stats

    output:
    path 'report.json'

    script:
    """
    pipeline-task report --out=report.json ${stats}
    """
}

workflow {
    batches = Channel.of(1..(params.batches as int))
    GENERATE(batches)
    ANALYZE(GENERATE.out)
    REPORT(ANALYZE.out.collect())
}
