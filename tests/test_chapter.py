"""open_chapter: one setup call resolves the parameters, looks runs up by their labels
and estimates the paper protocol's cost from the runs' measured speed."""
from types import SimpleNamespace as NS

import pytest

from cnnrepro import chapter, protocol
from cnnrepro.config import RunConfig


def fake_run(config: RunConfig, images_per_second: float):
    return NS(config=config, key=config.key(),
              provenance={"timing": {"train_images_per_second": images_per_second,
                                     "wall_seconds": 60.0}})


def test_parameters_come_from_the_namespace_and_unrelated_names_are_ignored():
    profile, overrides = chapter.parameters_of(
        "residual_depth", {"profile": "smoke", "seeds": [3], "np": object(), "force": False})
    assert profile == "smoke" and overrides == {"seeds": [3], "force": False}
    assert chapter.parameters_of("residual_depth", {})[0] == protocol.DEFAULT_PROFILE
    with pytest.raises(protocol.ProtocolError, match="unknown chapter 'nope'"):
        chapter.parameters_of("nope", {})


def test_bad_parameter_values_name_the_value_and_what_is_allowed():
    with pytest.raises(protocol.ProtocolError, match="profile='fast' is not allowed"):
        chapter.open_chapter("residual_depth", {"profile": "fast"})
    with pytest.raises(protocol.ProtocolError, match="models=.*allowed"):
        chapter.open_chapter("residual_depth", {"models": ["vgg"]})


def cheap_chapter():
    proto = protocol.resolve("residual_depth", "smoke", seeds=[0, 1])
    runs = [fake_run(c, 100.0 if c.model == "resnet_shallow" else 50.0)
            for c in proto.run_configs()]
    return chapter.Chapter(proto, runs)


def test_a_run_is_found_by_its_labels_at_the_first_seed_unless_another_is_named():
    ch = cheap_chapter()
    run = ch.run(model="resnet_deep", batch_size=128)
    assert (run.config.model, run.config.batch_size, run.config.seed) == ("resnet_deep", 128, 0)
    assert ch.run(model="resnet_deep", batch_size=128, seed=1).config.seed == 1
    with pytest.raises(KeyError, match="no run of chapter 'residual_depth'"):
        ch.run(model="resnet_deep", batch_size=32)
    assert not ch.at_protocol  # smoke deviates from the report's protocol


def test_a_run_without_a_named_seed_is_its_settings_first_even_where_the_lists_differ():
    proto = protocol.resolve("vgg_resnet", "smoke", seeds=[0], resnet_seeds=[3, 4])
    ch = chapter.Chapter(proto, [fake_run(c, 10.0) for c in proto.run_configs()])
    assert ch.run(model="resnet18", dataset="mnist").config.seed == 3
    assert ch.run(model="vgg16", dataset="mnist").config.seed == 0


def test_paper_hours_prices_every_paper_run_at_the_speed_of_ours_with_the_same_labels():
    ch = cheap_chapter()
    paper = protocol.resolve("residual_depth", "paper").run_configs()
    # every seed x batch size per model, one epoch of 60,000 images each
    per_model = len(paper) // 2
    expected = (per_model * 60000 / 100.0 + per_model * 60000 / 50.0) / 3600
    assert ch.paper_hours() == pytest.approx(expected)
    # a paper run with no counterpart among ours is left out, not guessed
    only_shallow = [r for r in ch.runs if r.config.model == "resnet_shallow"]
    assert chapter.paper_hours(paper, only_shallow, ch.labels) == pytest.approx(
        per_model * 60000 / 100.0 / 3600)


def test_images_per_epoch_follows_limits_pairs_and_the_validation_split():
    base = dict(model="m", epochs=1, batch_size=1, seed=0)
    assert RunConfig(task="cifar10", **base).images_per_epoch() == 50000
    assert RunConfig(task="mnist", train_limit=4000, **base).images_per_epoch() == 4000
    assert RunConfig(task="mnist", extra={"validation_split": 0.1}, **base).images_per_epoch() == 54000
    assert RunConfig(task="mnist_pairs", extra={"task": {"train_pairs": 1000}},
                     **base).images_per_epoch() == 1000


def test_an_import_named_like_a_parameter_is_not_taken_for_its_value():
    import cnnrepro.ablations as module
    _, overrides = chapter.parameters_of("residual_depth", {"ablations": module, "seeds": None,
                                                             "models": print})
    assert overrides == {"seeds": None}


def test_each_chapter_names_the_ablation_of_its_ablation_runs_for_the_provenance_block():
    for name, expected in (("residual_depth", {"sgd", "rmsprop", "unscaled", "bn_stats"}),
                           ("digit_pairs", {"pair_draw", "phase1_full", "bn_stats", "random_extractor"}),
                           ("vgg_resnet", {"crop_flip", "flatten_head"}),
                           ("cnn_sweeps", {"torch_init", "torch_norm", "torch_both"}),
                           ("dnn_convnet_resnet", {"bn_stats"})):
        p = protocol.resolve(name, "cpu")
        assert {p.chapter.ablation_of(p, c) for c in p.ablation_configs()} == expected
        # the cpu profiles of NTU, QMUL and UC are short of the report's protocol
        assert p.at_protocol == (name in ("residual_depth", "digit_pairs"))


def test_a_chapter_that_mixes_profiles_shows_a_stored_paper_run_in_place_of_its_own(
        tmp_path, monkeypatch):
    from test_store import fake_run as stored_run

    from cnnrepro import claims
    from cnnrepro.config import DEFAULT_NUMERICS
    from cnnrepro.store import ResultsStore
    monkeypatch.setenv("CNNREPRO_RESULTS", str(tmp_path))
    monkeypatch.setattr("cnnrepro.store.train", lambda *a, **k: pytest.fail("trained"))
    params = {"models": ["dnn"], "learning_rates": [0.1, 0.01], "losses": ["as printed"],
              "seeds": [0], "ablations": []}
    cpu = protocol.resolve("dnn_convnet_resnet", "cpu", **params).run_configs()
    paper = {c.learning_rate: c for c in protocol.resolve("dnn_convnet_resnet", "paper").run_configs()
             if c.model == "dnn" and "loss" not in c.extra and c.seed == 0}
    store = ResultsStore(tmp_path)
    stored_run(store, cpu[0], DEFAULT_NUMERICS, accuracy=0.7)          # 0.1 at cpu
    stored_run(store, paper[0.1], DEFAULT_NUMERICS, accuracy=0.8)      # and at paper
    stored_run(store, cpu[1], DEFAULT_NUMERICS, accuracy=0.9)          # 0.01 at cpu only
    read = []
    monkeypatch.setattr(chapter, "note_input", read.append)
    ch = chapter.open_chapter("dnn_convnet_resnet", {"profile": "cpu", **params}, verbose=0)
    # both paper places were read, the missing one too: a run stored there later
    # makes the page stale
    assert {p.name for p in read} == {paper[0.1].key(), paper[0.01].key()}
    shown = {r.config.learning_rate: r for r in ch.runs}
    assert shown[0.1].metrics["accuracy"] == 0.8 and ch.profile_of(shown[0.1]) == "paper"
    assert shown[0.01].metrics["accuracy"] == 0.9 and ch.profile_of(shown[0.01]) == "cpu"
    assert ch.profiles_shown == "paper (1 of 2 runs), cpu (the rest)"
    frame = ch.evidence()
    assert frame.set_index("learning_rate")[claims.AT_PROTOCOL].to_dict() == {"0.1": True, "0.01": False}
    # a claim is judged only on runs that all follow the protocol
    number = {"id": "n", "quote": "q", "section": "1", "kind": "number", "reported": 0.8,
              "decimals": 2, "number_kind": "accuracy"}
    at_paper, _ = claims.judge({**number, "where": {"learning_rate": "0.1"}}, frame, at_protocol=False)
    at_cpu, _ = claims.judge({**number, "where": {"learning_rate": "0.01"}}, frame, at_protocol=False)
    assert at_paper.verdict != "not tested" and at_cpu.verdict == "not tested"
    assert claims.claim_profile({**number, "where": {"learning_rate": "0.1"}}, frame, "cpu") == "paper"
    assert claims.claim_profile(number, frame, "cpu") == "cpu"


def test_parameters_read_as_words_not_json():
    from cnnrepro.provenance_block import parameters_text
    assert parameters_text({"models": ["dnn", "convnet"], "learning_rates": [0.1, 1e-4],
                            "ablations": [], "force": False, "seeds": list(range(15)),
                            "ablation_seeds": [0, 2]}) == \
        ("models: dnn, convnet; learning rates: 0.1, 0.0001; ablations: none; seeds: 0-14; "
         "ablation seeds: 0, 2")


def test_only_a_run_whose_config_is_the_protocols_counts_as_the_protocol():
    from cnnrepro import claims
    from cnnrepro import verdicts as v
    paper = protocol.resolve("residual_depth", "paper", seeds=[0, 1, 7])
    ch = chapter.Chapter(paper, [fake_run(c, 100.0) for c in paper.run_configs()])
    assert all(map(ch.run_at_protocol, ch.runs)) and ch.profile == "paper"
    # the paper profile with its epochs or images changed is not the protocol
    short = protocol.resolve("residual_depth", "paper", train_images=5000)
    changed = chapter.Chapter(short, [NS(**vars(fake_run(c, 100.0)), metrics={"accuracy": 0.98})
                                      for c in short.run_configs()])
    assert not any(map(changed.run_at_protocol, changed.runs))
    assert changed.profile == chapter.CHANGED and changed.profile_of(changed.runs[0]) == chapter.CHANGED
    frame = claims.evidence_frame(changed.runs, changed.labels).assign(**{claims.AT_PROTOCOL: False})
    deeper = next(c for c in claims.load("residual_depth") if c["id"] == "deeper-is-better")
    verdict, _ = claims.judge(deeper, frame, at_protocol=True)
    assert verdict.verdict == v.NOT_TESTED and "short of the report's protocol" in verdict.reason
