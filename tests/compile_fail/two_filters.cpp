// expect: two policies for the role 'filter'
#include <actatlas/filter/magnitude.hpp>
#include <actatlas/filter/rank.hpp>
#include <actatlas/pipeline.hpp>

actatlas::pipeline<actatlas::filter::rank, actatlas::filter::magnitude> p;
