// Fuzz target: provenance.csv (io/provenance_csv.hpp). Besides not crashing, the writer
// and the reader must agree: every parsed row, written back with csv_field, parses to the
// same row (file names with commas, quotes and line breaks included).
#include <actatlas/io/provenance_csv.hpp>

#include <cstdlib>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace actatlas;
  const auto path = fuzz::write_input(data, size, "provenance.csv");
  std::vector<io::provenance_row> rows;
  try {
    rows = io::read_provenance(path);
  } catch (const input_error&) {
    return 0;
  }
  std::string again = "image,x,y\n";
  for (const auto& r : rows) again += io::csv_field(r.image) + "," + std::to_string(r.x) + "," + std::to_string(r.y) + "\n";
  const auto back = io::parse_provenance(again, "round trip");
  if (back.size() != rows.size()) std::abort();
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (back[i].image != rows[i].image || back[i].x != rows[i].x || back[i].y != rows[i].y) std::abort();
  return 0;
}
