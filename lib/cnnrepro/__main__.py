"""Command line: ``python -m cnnrepro {list,run,book,build}``.

    python -m cnnrepro run residual_depth -p batch_sizes '[32, 256]' -p seeds '[0]'
    python -m cnnrepro book --profile cpu
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import protocol, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnrepro", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--book-dir", type=Path, default=None,
                        help="the book folder to execute and build (default: ./book)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="chapters and their parameters per profile")
    p_run = sub.add_parser("run", help="execute one chapter with papermill")
    p_run.add_argument("chapter")
    p_run.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                       metavar=("NAME", "VALUE"), help="a chapter parameter (YAML value)")
    p_run.add_argument("--profile", choices=protocol.PROFILES, default=None)
    p_book = sub.add_parser("book", help="execute every chapter, then build the HTML")
    p_book.add_argument("--profile", choices=protocol.PROFILES, default=protocol.DEFAULT_PROFILE)
    sub.add_parser("build", help="build the HTML from the executed chapters")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("traitlets", "nbclient"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

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
            out = run.run_chapter(args.chapter, params, args.book_dir)
            print(f"executed {out}; now `jupyter-book build book/` shows it")
        elif args.command == "book":
            index = run.run_book(args.profile, args.book_dir)
            print(f"The book is at {index.resolve()}")
        elif args.command == "build":
            print(f"The book is at {run.build_book(args.book_dir).resolve()}")
    except (protocol.ProtocolError, run.ChapterFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
