# One precompiled header for all of our own targets that include LibTorch (tests, the
# actatlas program, benchmarks): LibTorch's headers cost ~15 s per translation unit on
# two cores, ~8 s with the PCH. The donor is a tiny object library; every other target
# uses REUSE_FROM, which needs identical compile options, hence one helper function.
add_library(actatlas_pch OBJECT "${PROJECT_SOURCE_DIR}/cmake/pch_donor.cpp")
target_link_libraries(actatlas_pch PUBLIC actatlas::actatlas actatlas_warnings)
if(ACTATLAS_ENABLE_PCH AND ACTATLAS_WITH_TORCH)
  target_precompile_headers(actatlas_pch PRIVATE
    <torch/torch.h> <torch/script.h> <catch2/catch.hpp> <nlohmann/json.hpp>
    <xtensor/xtensor.hpp> <xtensor/xview.hpp> <xtensor/xmath.hpp>)
endif()

# actatlas_use_pch(target): compile `target` with the shared PCH and our warnings.
function(actatlas_use_pch target)
  target_link_libraries(${target} PRIVATE actatlas::actatlas actatlas_warnings)
  if(ACTATLAS_ENABLE_PCH AND ACTATLAS_WITH_TORCH)
    target_precompile_headers(${target} REUSE_FROM actatlas_pch)
  endif()
endfunction()
