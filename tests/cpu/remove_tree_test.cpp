// io::remove_tree: removes a whole folder tree, and is quiet about a missing path.
#include <catch2/catch.hpp>

#include <actatlas/io/remove_tree.hpp>

#include <fstream>

#include "test_tools.hpp"

TEST_CASE("remove_tree removes nested folders and files", "[io]") {
  actatlas::test::temp_dir dir;
  const auto root = dir / "tree";
  std::filesystem::create_directories(root / "a" / "b" / "c");
  std::ofstream(root / "a" / "one.txt") << "1";
  std::ofstream(root / "a" / "b" / "c" / "two.txt") << "2";
  std::filesystem::create_symlink(root / "a" / "one.txt", root / "link");
  actatlas::io::remove_tree(root);
  CHECK_FALSE(std::filesystem::exists(root));
  std::error_code ec;
  actatlas::io::remove_tree(root, ec);  // already gone: not an error
  CHECK_FALSE(ec);
  std::ofstream(dir / "file.txt") << "x";
  actatlas::io::remove_tree(dir / "file.txt");
  CHECK_FALSE(std::filesystem::exists(dir / "file.txt"));
}
