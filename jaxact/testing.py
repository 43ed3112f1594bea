"""Verification tools: check any activation against a plain reference formula (float64
agreement of every partial, ulp errors in bfloat16/float16/float32, limits at +-inf), measure
ulp errors against a float64 truth, and count what reverse mode keeps."""

from jaxact._src.accuracy import UlpStats as UlpStats
from jaxact._src.accuracy import all_finite as all_finite
from jaxact._src.accuracy import f32_samples as f32_samples
from jaxact._src.accuracy import measure as measure
from jaxact._src.accuracy import ulp_error as ulp_error
from jaxact._src.testing import Check as Check
from jaxact._src.testing import CheckReport as CheckReport
from jaxact._src.testing import assert_activation as assert_activation
from jaxact._src.testing import check_activation as check_activation
from jaxact._src.testing import residual_bytes as residual_bytes
from jaxact._src.testing import residuals as residuals
from jaxact._src.testing import slice_of as slice_of

__all__ = [
    "Check",
    "CheckReport",
    "UlpStats",
    "all_finite",
    "assert_activation",
    "check_activation",
    "f32_samples",
    "measure",
    "residual_bytes",
    "residuals",
    "slice_of",
    "ulp_error",
]
