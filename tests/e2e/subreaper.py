"""A child subreaper (prctl PR_SET_CHILD_SUBREAPER, as systemd --user and some CI harnesses are) that is not PID 1:
orphans below it become its children instead of init's. Run by test_task_cli.py; prints one JSON line.

  subreaper.py orphan DEPTH PROGRAM [ARG...]
      Starts a chain of DEPTH processes below this one; the first is named in PIPELINE_PARENT_PID. The last starts
      PROGRAM, but stops it before its exec, and then dies, so that PROGRAM's parent is gone before it can ask to
      die with it (the race of a service killed while it starts a task). PROGRAM, now a child of this subreaper,
      is let go: {"exit": its exit status, or null when it still ran after 10 s (then it is killed)}.
  subreaper.py service BUILD WORKDIR
      Starts the service below this subreaper, starts a run with long pauses, SIGKILLs the service once its tasks
      run: {"tasks": pids seen, "left": task pids still alive 10 s later}.
"""
import ctypes
import ctypes.util
import json
import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def parent_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def reap_all():
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def wait_exit(pid, timeout):
    """The exit status of child `pid`, or None when it still runs after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    return None


def orphan(depth, argv):
    named_r, named_w = os.pipe()  # the named process's pid, then the task's
    hold_r, hold_w = os.pipe()    # the named process lives while this stays open
    first = os.fork()
    if first == 0:
        os.close(named_r)
        os.close(hold_w)
        named = os.getpid()
        for level in range(1, depth):  # each level forks the next one; only the named process stays
            child = os.fork()
            if child != 0:
                if level == 1:
                    os.read(hold_r, 1)  # the named process: stays until the harness lets go
                else:
                    os.waitpid(child, 0)
                os._exit(0)
        task = os.fork()
        if task == 0:
            os.kill(os.getpid(), signal.SIGSTOP)  # held here, before its exec, until its parent is gone
            env = dict(os.environ, PIPELINE_PARENT_PID=str(named))
            os.execve(argv[0], argv, env)
        os.waitpid(task, os.WUNTRACED)
        os.write(named_w, f"{task}\n".encode())
        os._exit(0)  # the task's parent dies
    os.close(named_w)
    os.close(hold_r)
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(named_r, 64)
        if not chunk:
            raise RuntimeError("the chain ended before it started the task")
        data += chunk
    task = int(data)
    deadline = time.monotonic() + 10
    while parent_of(task) != os.getpid():  # reparented to this subreaper
        if time.monotonic() > deadline:
            raise RuntimeError("the task was not reparented to the subreaper")
        time.sleep(0.01)
    os.kill(task, signal.SIGCONT)
    code = wait_exit(task, 10)
    if code is None:
        os.kill(task, signal.SIGKILL)
        os.waitpid(task, 0)
    os.close(hold_w)
    reap_all()
    time.sleep(0.05)
    reap_all()
    return {"exit": code}


def service(build, workdir):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.environ["PIPELINE_BUILD"] = build
    from conftest import Service, processes_mentioning, wait_until

    svc = Service(workdir, env={"GENERATE_SECONDS": "60", "LOCAL_PARALLELISM": "4"})
    try:
        svc.run(batch_count=3)
        tasks = wait_until(lambda: len(processes_mentioning(str(svc.data_dir))) >= 3 and
                           processes_mentioning(str(svc.data_dir)), timeout=20)
        svc.proc.kill()
        svc.proc.wait()

        def left():
            reap_all()  # the orphans are this subreaper's children now
            return processes_mentioning(str(svc.data_dir))
        wait_until(lambda: not left(), timeout=10)
        remaining = left()
        for pid in remaining:
            os.kill(pid, signal.SIGKILL)
        return {"tasks": tasks or [], "left": remaining}
    finally:
        if svc.proc.poll() is None:
            svc.proc.kill()
            svc.proc.wait()
        reap_all()


def main():
    become_subreaper()
    if sys.argv[1] == "orphan":
        result = orphan(int(sys.argv[2]), sys.argv[3:])
    else:
        result = service(sys.argv[2], sys.argv[3])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
