"""`pytorch-tutor bench` says where a check's time goes, in a table that fits 80 columns.
(No timing assertions: the figures here are made up; bench itself measures.)"""

from __future__ import annotations

from tutor.commands import bench_cmd


def test_breakdown_is_the_median_of_each_part_of_the_workers_timing() -> None:
    timings = [{"prepare_ms": 1.0, "launch_ms": 10.0, "child_ms": 30.0},
               {"prepare_ms": 3.0, "launch_ms": 90.0, "child_ms": 50.0},
               {"prepare_ms": 2.0, "launch_ms": 20.0, "child_ms": 40.0}]
    assert bench_cmd._breakdown(timings) == {"prepare_ms": 2.0, "launch_ms": 20.0, "child_ms": 40.0}
    assert bench_cmd._breakdown([]) == {}


def test_breakdown_table_names_each_part_and_fits_80_columns() -> None:
    report = {"warm_breakdown_ms": {"prepare_ms": 8.6, "launch_ms": 7.2, "confine_ms": 12.9, "child_ms": 48.4, "judge_ms": 23.8},
              "back_to_back_breakdown_ms": {"prepare_ms": 6.2, "launch_ms": 1334.4, "confine_ms": 16.6, "child_ms": 65.2, "judge_ms": 35.0}}
    lines = bench_cmd._breakdown_lines(report)
    assert [line.split()[0] for line in lines] == ["where", "warm", "back"]
    assert lines[0].split()[-5:] == ["prepare", "launch", "confine", "child", "judge"]
    assert lines[2].split()[-5:] == ["6.2", "1334.4", "16.6", "65.2", "35.0"]
    assert max(len(line) for line in lines) <= 80
    assert bench_cmd._breakdown_lines({}) == []
