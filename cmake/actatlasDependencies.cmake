# Finds every dependency of actatlas::actatlas for our own build (actatlasConfig.cmake.in
# repeats the list with find_dependency for downstream projects).
find_package(Threads REQUIRED)
find_package(xtl REQUIRED)
find_package(xtensor REQUIRED)
find_package(xtensor-blas REQUIRED)
find_package(Boost 1.74 REQUIRED CONFIG)   # Boost::headers carries Hana
find_package(nlohmann_json 3 REQUIRED)
find_package(hnswlib REQUIRED)             # cmake/Findhnswlib.cmake: Debian ships no config
find_package(stb REQUIRED)                 # cmake/Findstb.cmake
if(ACTATLAS_WITH_TORCH)
  include(actatlasTorch)
endif()
