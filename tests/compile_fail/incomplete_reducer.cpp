// expect: the reducer policy lacks `matrix reduce
// A type that claims the reducer role but has no reduce() is named as such.
#include <actatlas/pipeline.hpp>

struct half_reducer {
  using role = actatlas::role::reducer;
  static constexpr std::string_view name = "half";
  struct options {};
  actatlas::matrix reduce(actatlas::matrix_cref) const;  // wrong signature: no dims, no progress
};
actatlas::pipeline<half_reducer> p;
