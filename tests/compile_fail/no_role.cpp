// expect: a template argument plays no role
// A type that declares no role is rejected, not silently ignored.
#include <actatlas/pipeline.hpp>

struct not_a_policy {};
actatlas::pipeline<actatlas::binning::grid, not_a_policy> p;
