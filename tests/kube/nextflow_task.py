"""The files Nextflow's controller writes into a task's work directory before it submits the task's pod:
`.command.sh` (the process's script from workflows/demo.nf, its ${...} filled in) and `.command.run` (the
launcher the pod runs with `/bin/bash -ue`). The launcher here is written for these tests, but it does to the
task directory what Nextflow 24.10's (BashWrapperBuilder, command-run.txt) does, in the same order and with the
same absolute paths: change to the task directory, `touch .command.begin`, link the inputs in, run
`.command.sh` with its stdout copied to `.command.out` and its stderr to `.command.err`, and on exit write the
exit status to `.exitcode`. A user that cannot write in the directory fails there, as it does under Nextflow."""
import re
import shlex

SCRIPT = re.compile(r'process\s+(\w+)\s*\{.*?script:\s*"""\n(.*?)"""', re.S)
PARAM = re.compile(r"^params\.(\w+)\s*=\s*(.+)$", re.M)


def workflow_scripts(text):
    """{process name: script template} of a .nf file."""
    return {name: body for name, body in SCRIPT.findall(text)}


def workflow_params(text):
    """The `params.x = value` defaults at the top of a .nf file (numbers and quoted strings)."""
    out = {}
    for k, v in PARAM.findall(text):
        v = re.sub(r"\s+//.*$", "", v).strip()  # a trailing Groovy comment
        out[k] = v.strip("'\"") if v[:1] in "'\"" else (float(v) if "." in v else int(v))
    return out


def render(template, values):
    """Groovy's ${expr} in a script: names and params.x looked up in `values`; the rest is bash, kept."""
    def sub(m):
        expr = m.group(1)
        if expr not in values:
            raise KeyError(f"the simulation cannot fill in ${{{expr}}}")
        v = values[expr]
        return " ".join(map(str, v)) if isinstance(v, list) else str(v)
    lines = [line[4:] if line.startswith("    ") else line for line in template.splitlines()]
    return "#!/bin/bash -ue\n" + re.sub(r"\$\{([^}]+)\}", sub, "\n".join(lines)).strip() + "\n"


def launcher(task_dir, inputs):
    """.command.run; `inputs` maps a staged name to the absolute path it links to."""
    d = shlex.quote(task_dir)
    stage = "".join(f"    rm -f {shlex.quote(n)}\n    ln -s {shlex.quote(p)} {shlex.quote(n)}\n"
                    for n, p in inputs.items())
    return f"""#!/bin/bash
# the launcher of a task, as the simulated Nextflow controller writes it (see tests/kube/nextflow_task.py)
NXF_CHDIR={d}
set -e
set -u

task_exit() {{
    status=${{task_status:=$?}}
    printf -- "$status" > {d}/.exitcode
    exit "$status"
}}

task_main() {{
    trap task_exit EXIT
    cd "$NXF_CHDIR"
    touch {d}/.command.begin
{stage}    set +e
    /bin/bash -ue {d}/.command.sh > >(tee .command.out) 2> >(tee .command.err >&2)
    task_status=$?
    wait
}}

task_main
"""
