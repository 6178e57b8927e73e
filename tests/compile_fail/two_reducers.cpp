// expect: two policies for the role 'reducer'
// Two policies for one role must not compile.
#include <actatlas/pipeline.hpp>
#include <actatlas/reducer/tsne.hpp>

actatlas::pipeline<actatlas::reducer::umap, actatlas::binning::grid, actatlas::reducer::tsne> p;
