// Boost.URL compiled once for the whole program (it is not header-only; Debian ships no
// libboost_url for 1.81 in the default set): transport::http's query parser uses it.
#include <boost/url/src.hpp>
