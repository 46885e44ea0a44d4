"""Command line: ``python -m cnnrepro {list,run,train,book,build,bench,verify,fingerprint,analyse,rekey}``.

    python -m cnnrepro run residual_depth -p batch_sizes '[32, 256]' -p seeds '[0]'
    python -m cnnrepro run residual_depth --reset     # back to the book's defaults
    python -m cnnrepro book --profile cpu --jobs 2    # = jupyter-book build book/
    python -m cnnrepro bench --models vgg16 resnet18 --repeats 3
    python -m cnnrepro verify residual_depth --runs 3 # retrain the 3 cheapest, compare
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import tempfile
from pathlib import Path

# TensorFlow's start-up notices (oneDNN, CUDA) are noise here; a user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from . import execution, protocol, run  # noqa: E402  (after the setting above)


# Notices TensorFlow and the Jupyter kernel write straight to stderr, before
# TensorFlow's logging honours TF_CPP_MIN_LOG_LEVEL (the oneDNN one appears whenever
# TF_ENABLE_ONEDNN_OPTS is set, which the package does).
NOTICES = re.compile(r"oneDNN custom operations|All log messages before absl|"
                     r"cpu_feature_guard|rebuild TensorFlow with|Unable to register cu|"
                     r"computation placer|could not find cuda drivers|"
                     r"Kernel is running over TCP without encryption|"
                     r"NodeDef mentions attribute use_unbounded_threadpool", re.I)


@contextlib.contextmanager
def notices_dropped():
    """Within: file descriptor 2 (this process's and a kernel's it starts) goes to a
    temporary file; afterwards every line but the NOTICES is passed on to stderr.
    Does nothing when the user lowered TF_CPP_MIN_LOG_LEVEL below 2."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") not in ("2", "3"):
        yield
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines():
                if line.strip() and not NOTICES.search(line):
                    print(line, file=sys.stderr)


class WithoutNotices:
    """A page's cell output for the terminal (papermill's ``stdout_file``), less the
    NOTICES its kernel's TensorFlow prints on import."""

    def __init__(self, out):
        self.out = out

    def write(self, text: str) -> None:
        kept = [line for line in text.splitlines(keepends=True) if not NOTICES.search(line)]
        self.out.write("".join(kept))

    def flush(self) -> None:
        self.out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnrepro", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--book-dir", type=Path, default=None,
                        help="the book folder to execute and build (default: ./book)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="chapters and their parameters per profile")
    p_run = sub.add_parser("run", help="execute one page with papermill now; parameters "
                           "given stay with the page for later builds")
    p_run.add_argument("chapter")
    p_run.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                       metavar=("NAME", "VALUE"), help="a chapter parameter (YAML value)")
    p_run.add_argument("--profile", choices=protocol.PROFILES, default=None)
    p_run.add_argument("--reset", action="store_true",
                       help="execute with the book's default parameters again")
    p_train = sub.add_parser("train", help="train (or read) one chapter's runs into the store "
                             "without executing its notebook, e.g. on a GPU machine "
                             "without Jupyter")
    p_train.add_argument("chapter")
    p_train.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                         metavar=("NAME", "VALUE"), help="a chapter parameter (YAML value)")
    p_train.add_argument("--profile", choices=protocol.PROFILES, default=None)
    p_train.add_argument("--jobs", type=int, default=1,
                         help="worker processes, each pinned to its share of the cores "
                              "(default 1; same numbers as 1 on a CPU)")
    for command, text in (("book", "execute every stale page, then build the HTML "
                           "(the same as jupyter-book build book/)"),
                          ("build", "the same as book")):
        p_book = sub.add_parser(command, help=text)
        p_book.add_argument("--profile", choices=protocol.PROFILES, default=None,
                            help="the build's profile (default: CNNREPRO_PROFILE, else cpu)")
        p_book.add_argument("--jobs", type=int, default=None,
                            help="pages executed at once (default: CNNREPRO_JOBS, else the cores)")
    p_camp = sub.add_parser("campaign", help="train every run the book wants that the store "
                            "lacks, cheapest claim first, each stored as it finishes; "
                            "resumes interrupted runs from their checkpoints")
    p_camp.add_argument("--dry-run", action="store_true",
                        help="print the queue (run, chapter, claims it feeds, estimated "
                             "minutes) and the total; train nothing")
    p_camp.add_argument("--budget", default=None,
                        help="time allowed, e.g. 150m or 2.5h: nothing starts that cannot "
                             "reach its first checkpoint in time, and the run in training "
                             "pauses at its last checkpoint when time is up")
    p_camp.add_argument("--chapters", nargs="+", default=None, help="default: every chapter")
    p_camp.add_argument("--profile", choices=protocol.PROFILES, default=None,
                        help="only runs of this profile (default: the pages' and the "
                             "reports' protocol, paper)")
    p_camp.add_argument("--seeds", type=int, default=None, metavar="N",
                        help="the reports' protocols at seeds 0..N-1 (default: each "
                             "paper profile's own seeds)")
    p_camp.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="a Dask distributed scheduler (tcp://host:8786): its workers "
                             "train, this process stores")
    p_bench = sub.add_parser("bench", help="training images per second of every model "
                             "(and the PyTorch peer when torch is installed)")
    p_bench.add_argument("--models", nargs="+", default=None, help="default: all")
    p_bench.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"],
                         choices=["float32", "mixed_bfloat16"])
    p_bench.add_argument("--steps", type=int, default=None,
                         help="batches per timed epoch (default: each model's own, about 2 s)")
    p_bench.add_argument("--repeats", type=int, default=3, help="timed epochs after one warm-up")
    p_bench.add_argument("--no-peer", action="store_true", help="skip PyTorch")
    p_bench.add_argument("--force-bf16", action="store_true",
                         help="measure bfloat16 even on a CPU without bfloat16 instructions")
    p_bench.add_argument("--check-settings", action="store_true",
                         help="instead: train a chapter-1 and a chapter-4 run with each "
                              "TensorFlow setting compared and write their test metrics")
    p_bench.add_argument("--time-book", action="store_true",
                         help="instead: time the plain build (jupyter-book build book/) "
                              "cold, warm and after one chapter's text changed, --repeats "
                              "times each, on a copy of the book")
    p_bench.add_argument("--fresh-clone", action="store_true",
                         help="with --time-book: also time `make book` on a clone of the last "
                              "commit, its install included")
    p_bench.add_argument("--profile-update", action="store_true",
                         help="instead: where one training update of each --models (default: "
                              "resnet_shallow resnet_deep simple_cnn) spends its time")
    p_bench.add_argument("--time-chapter", metavar="CHAPTER", default=None,
                         help="instead: time training CHAPTER's runs from an empty store "
                              "with each --jobs count")
    p_bench.add_argument("--jobs", type=int, nargs="+", default=[1, 2],
                         help="worker counts for --time-chapter (default: 1 2)")
    p_bench.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                         metavar=("NAME", "VALUE"), help="a chapter parameter for --time-chapter")
    p_bench.add_argument("--out", type=Path, default=None,
                         help="CSV to write (default: results/bench/<backend>-<cpu>.csv)")
    p_verify = sub.add_parser("verify", help="retrain stored runs into a temporary store "
                              "and compare them with the stored ones (cheapest first)")
    p_verify.add_argument("chapters", nargs="*", help="default: every chapter, or with "
                          "--store every run of that store")
    p_verify.add_argument("--runs", type=int, default=None,
                          help="at most this many runs per chapter, the cheapest first")
    p_verify.add_argument("--store", type=Path, default=None,
                          help="the store to verify (default: the book's results)")
    p_verify.add_argument("--analyses", action="store_true",
                          help="instead: recompute the analyses stored beside those runs "
                               "(cnnrepro.analyses) from their runs and compare")
    p_verify.add_argument("--no-record", action="store_true",
                          help="do not add the results to results/bench/verify.csv "
                               "(never recorded for another --store)")
    p_finger = sub.add_parser("fingerprint", help="store the reference runs of the training "
                              "code's version (tests/fingerprint/); refused when they changed "
                              "without a new TRAINING_CODE_VERSION")
    p_finger.add_argument("--check", action="store_true",
                          help="only retrain and compare them (what the tests do)")
    p_finger.add_argument("--allow-missing", action="store_true",
                          help="with --check: compare the reference runs recorded for this "
                               "processor and list, not refuse, those not recorded yet (a "
                               "model version new since this processor's were recorded)")
    p_analyse = sub.add_parser("analyse", help="compute the analyses every stored run of its "
                               "kind gets (cnnrepro.analyses) where missing or stale")
    p_analyse.add_argument("--store", type=Path, default=None)
    p_rekey = sub.add_parser("rekey", help="file every run of a store under the key its "
                             "config and recorded numerics give")
    p_rekey.add_argument("--store", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("traitlets", "nbclient", "papermill"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    if args.command in ("train", "bench", "verify", "fingerprint", "analyse"):
        with notices_dropped():
            import keras  # noqa: F401  (its notices dropped once, here)
    try:
        if args.command == "list":
            for name, spec in protocol.chapters().items():
                print(f"{name}: {spec.title}")
                for prof in protocol.PROFILES:
                    print(f"  {prof}: {spec.profiles[prof]}")
        elif args.command == "run":
            params = run.parse_params(args.parameter)
            if args.profile:
                params["profile"] = args.profile
            with notices_dropped():
                out = run.run_chapter(args.chapter, params, args.book_dir, reset=args.reset,
                                      stream=WithoutNotices(sys.stdout))
            print(f"executed {out}; now `jupyter-book build book/` shows it")
        elif args.command == "train":
            params = run.parse_params(args.parameter)
            if args.profile:
                params["profile"] = args.profile
            with notices_dropped():
                runs = run.train_chapter(args.chapter, params, jobs=args.jobs)
            print(f"{len(runs)} runs of {args.chapter} in the store")
        elif args.command in ("book", "build"):
            if args.jobs is not None and args.jobs < 1:
                raise protocol.ProtocolError(f"--jobs={args.jobs} is not allowed; "
                                             f"allowed: an integer >= 1")
            index = run.build_book(args.book_dir, profile=args.profile, jobs=args.jobs)
            print(f"The book is at {index.resolve()}")
        elif args.command == "bench":
            from . import bench, measurements
            for name, value in (("--steps", args.steps), ("--repeats", args.repeats)):
                if value is not None and value < 1:
                    raise protocol.ProtocolError(f"{name}={value} is not allowed; allowed: an integer >= 1")
            if args.time_book:
                out = args.out or bench.default_csv().with_name("book-timing.csv")
                bench.time_book(out, repeats=args.repeats, fresh_clone=args.fresh_clone)
                print(f"wrote {out}")
                return 0
            if args.profile_update:
                out = args.out or bench.default_csv().with_name(measurements.UPDATE_PROFILE)
                try:
                    bench.update_profile(out, models=args.models or bench.PROFILED_MODELS,
                                         steps=args.steps or 200, repeats=args.repeats)
                except ValueError as exc:
                    raise protocol.ProtocolError(str(exc)) from exc
                print(f"wrote {out}")
                return 0
            if args.time_chapter:
                out = args.out or bench.default_csv().with_name(measurements.CHAPTER_TIMING)
                bench.time_chapter(out, args.time_chapter, args.jobs, run.parse_params(args.parameter))
                print(f"wrote {out}")
                return 0
            if args.check_settings:
                out = args.out or bench.default_csv().with_name("settings-check.csv")
                bench.settings_check(out)
                print(f"wrote {out}")
                return 0
            out = args.out or bench.default_csv()
            try:
                bench.run(out, models=args.models, precisions=args.precisions, steps=args.steps,
                          repeats=args.repeats, peer=not args.no_peer, force_bf16=args.force_bf16)
            except ValueError as exc:
                raise protocol.ProtocolError(str(exc)) from exc
            print(f"wrote {out}")
        elif args.command == "campaign":
            return campaign_command(args)
        elif args.command == "verify":
            with notices_dropped():
                return verify_command(args)
        elif args.command == "fingerprint":
            from . import verify
            if args.check:
                rows = verify.check_fingerprint(allow_missing=args.allow_missing)
                print(f"{len(rows)} reference runs: "
                      f"{rows['verdict'].value_counts().to_dict()}")
            else:
                removed = verify.renew_fingerprint()
                print(f"reference runs of code version {verify.config_module.TRAINING_CODE_VERSION} stored "
                      f"in {verify.reference_store().root}; {len(removed)} no longer read removed")
        elif args.command == "analyse":
            from . import analyses
            from .store import ResultsStore
            with notices_dropped():
                names = analyses.analyse_store(ResultsStore(args.store or protocol.default_store_root()))
            print(f"{len(names)} analyses stored and current")
        elif args.command == "rekey":
            from .store import ResultsStore, rekey
            moved = rekey(ResultsStore(args.store or protocol.default_store_root()))
            print(f"{len(moved)} runs filed under new keys")
    except (protocol.ProtocolError, execution.PageFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from .verify import Drift
        if not isinstance(exc, Drift):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def campaign_command(args) -> int:
    from . import campaign

    budget = campaign.parse_budget(args.budget) if args.budget else None
    with notices_dropped():
        queue = campaign.plan(args.chapters, args.profile, seeds=args.seeds)
    table = campaign.summary(queue)
    known = table["minutes"].dropna()
    total = (f"{len(queue)} runs, {known.sum():.0f} min estimated"
             + (f" ({len(table) - len(known)} not estimated)" if len(known) < len(table) else ""))
    if args.dry_run:
        if len(table):
            print(table.to_string(index=False))
        print(total + "; by chapter: " + ", ".join(
            f"{c} {len(g)} ({g['minutes'].sum():.0f} min)" for c, g in table.groupby("chapter", sort=False)))
        return 0
    print(f"campaign: {total}" + (f"; budget {budget / 60:.0f} min" if budget else ""), flush=True)
    if args.scheduler:
        stored = campaign.train_on_cluster(queue, args.scheduler, budget)
    else:
        stored = campaign.train_queue(queue, budget, log=lambda m: print(m, flush=True))
    print(f"campaign: {len(stored)} runs stored")
    return 0


def verify_command(args) -> int:
    from . import verify
    from .store import ResultsStore

    if args.runs is not None and args.runs < 1:
        raise protocol.ProtocolError(f"--runs={args.runs} is not allowed; allowed: an integer >= 1")
    for name in args.chapters:
        protocol.chapter(name)
    store = ResultsStore(args.store or protocol.default_store_root())
    chapters = args.chapters or (None if args.store else list(protocol.chapters()))
    chosen = verify.select(store, chapters, args.runs, ablations=args.analyses)
    waiting = verify.pending(store, chapters or [])
    if waiting:
        print(f"not verified: {len(waiting)} run(s) stored only by an earlier version of their "
              f"model, which wait to be retrained (first: {waiting[0][1].label()}, "
              f"{waiting[0][0]})")
    if not chosen:
        raise protocol.ProtocolError(f"no stored runs to verify in {store.root} for {chapters}")
    if args.analyses:
        rows = verify.verify_analyses(store, chosen)
        if rows.empty:
            raise protocol.ProtocolError(f"no stored analyses beside those runs in {store.root}")
        print(rows.to_string(index=False))
        print(f"{int(rows['ok'].sum())} of {len(rows)} analyses as stored: "
              f"{rows['verdict'].value_counts().to_dict()}")
        return 0 if rows["ok"].all() else 1
    recording = not (args.no_record or args.store)
    rows = verify.verify(store, chosen, on_row=verify.record if recording else None)
    print(verify.table(rows))
    if recording:
        print(f"recorded in {verify.record(rows)}")
    bad = int((~rows["ok"]).sum())
    print(f"{len(rows) - bad} of {len(rows)} runs as expected: "
          f"{rows['verdict'].value_counts().to_dict()}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
