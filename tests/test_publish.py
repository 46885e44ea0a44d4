"""The publishing workflow (GitHub Actions, cannot run here) builds the book with the
README's own build command and publishes what that command writes."""

import re

import yaml

from conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def readme_build_command() -> str:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    commands = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    builds = sorted({c for c in commands if c.startswith("jupyter-book build")})
    assert len(builds) == 1, f"the README should give one build command, gives {builds}"
    return builds[0]


def test_the_workflow_runs_the_readme_build_command_after_the_install():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["build"]["steps"]
    runs = [line.strip() for s in steps for line in s.get("run", "").splitlines() if line.strip()]
    assert readme_build_command() in runs
    assert runs.index("make install") < runs.index(readme_build_command())


def test_the_workflow_publishes_the_html_the_build_writes():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    upload = [s for s in workflow["jobs"]["build"]["steps"]
              if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert upload and upload[0]["with"]["path"] == "book/_build/html"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in deploy["steps"])
    assert workflow["permissions"]["pages"] == "write"
