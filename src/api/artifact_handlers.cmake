# MLflow artifact proxy handlers: the test target. The api owner includes this
# from src/api/CMakeLists.txt (after adding artifact_handlers.cc to cairn_api):
#   include(${CMAKE_CURRENT_LIST_DIR}/artifact_handlers.cmake)
# The test compiles the handler source itself so it needs only cairn_blob and
# cairn_http, not the whole API layer.
if(NOT TARGET artifact_handlers_test AND TARGET cairn_blob AND TARGET cairn_http)
  cairn_test(artifact_handlers_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/artifact_handlers.cc
            ${CMAKE_CURRENT_LIST_DIR}/artifact_handlers_test.cc
    LIBS cairn_blob cairn_http)
  # The real-client test runs the mlflow venvs under <source>/.venv when present.
  target_compile_definitions(artifact_handlers_test
    PRIVATE CAIRN_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endif()
