import pandas as pd

from cnnrepro import report, run


def test_headlines_follow_book_order_whatever_the_publishing_order(tmp_path):
    first, second = run.chapters()[:2]
    report.publish_headlines(second, [{"chapter": second, "result": "b"}], book=tmp_path)
    out = report.publish_headlines(first, [{"chapter": first, "result": "a"}], book=tmp_path)
    text = out.read_text()
    assert text.index(first) < text.index(second)
    # republishing a chapter replaces its rows instead of adding to them
    report.publish_headlines(first, [{"chapter": first, "result": "a2"}], book=tmp_path)
    rows = pd.read_csv(tmp_path / "_generated" / "headlines" / f"{first}.csv")
    assert rows["result"].tolist() == ["a2"]
