// Fuzz target: the JSON files the stages read back: a level's cells (io/cells_json.hpp) and
// a stage record (stage_record.hpp: read_record, then the reuse decision that compares it
// with the record a run would write and lists the differences).
#include <actatlas/io/cells_json.hpp>
#include <actatlas/stage_record.hpp>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace actatlas;
  const auto path = fuzz::write_input(data, size, "record.json");
  try {
    const auto level = io::read_cells_json(path);
    for (const auto& c : level.cells)
      if (c.ix >= level.grid || c.iy >= level.grid) std::abort();
  } catch (const input_error&) {
  }
  const auto record = detail::read_record(path);
  const nlohmann::json wanted = {{"stage", "layout"},
                                 {"reducer", {{"name", "umap"}, {"options", {{"n_neighbors", 15}, {"seed", 0}}}}},
                                 {"inputs", {{"activations.npy", "4096:0123456789abcdef"}}}};
  const auto report = detail::decide("layout", record, wanted, true, {"result"});
  (void)report.text();
  return 0;
}
