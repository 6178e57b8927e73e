// Runs a fuzz target's LLVMFuzzerTestOneInput on files, without libFuzzer: the
// regression run of the test command, built with any compiler under ASan and UBSan.
// Usage: fuzz_replay_<target> FILE_OR_FOLDER...   (folders: every file below, sorted)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg = argv[i];
    if (fs::is_directory(arg)) {
      for (const auto& e : fs::recursive_directory_iterator(arg))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.push_back(arg);
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "fuzz replay: no input files\n");
    return 2;
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A copy of exactly the file's size, so that ASan sees a read one past the end.
    std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
    auto* heap = new std::uint8_t[data.size()];
    std::copy(data.begin(), data.end(), heap);
    LLVMFuzzerTestOneInput(heap, data.size());
    delete[] heap;
  }
  std::printf("fuzz replay: %zu inputs, no crash\n", files.size());
  return 0;
}
