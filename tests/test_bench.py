"""Smoke test of the speed benchmark in its tiny mode (no timing asserts, no PyTorch)."""
import io

from nncore import bench


def test_quick_benchmark_runs_and_reports_every_step():
    out = io.StringIO()
    results = bench.run(quick=True, use_torch=False, out=out)
    text = out.getvalue()
    for line in ("GEMM peak", "MLP batch 8", "CNN batch 4", "Trainer.step_batch"):
        assert line in text
    header = next(line for line in text.splitlines() if line.startswith("step"))
    assert "PyTorch" not in header                              # no PyTorch column
    assert results["gemm_gflops"] > 0 and results["mlp_8_ms"] > 0 and results["cnn_4_ms"] > 0
    assert 0 < results["mlp_8_peak_pct"]


def test_mlp_flop_count():
    # forward and weight gradients of 784·256 + 256·128 + 128·10 multiply-adds, input
    # gradients of all but the first layer, 2 flops each, per sample
    assert bench.mlp_step_flops(1) == 2 * (2 * 234_752 + 34_048)


def test_only_the_cnn_step():
    out = io.StringIO()
    results = bench.run(quick=True, use_torch=False, out=out, only="cnn")
    text = out.getvalue()
    assert "CNN batch 4" in text and "MLP batch" not in text and "Trainer" not in text
    assert results["cnn_4_ms"] > 0 and "mlp_8_ms" not in results
