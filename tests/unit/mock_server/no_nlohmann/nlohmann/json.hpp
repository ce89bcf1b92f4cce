// Stands in for nlohmann/json.hpp in the mock server's header check (see CMakeLists.txt).
#error "freshtoken/mock_server.hpp must compile without nlohmann/json on the include path"
