# bench.smoke: runs micro_bench (small sizes, minimal time) and load_bench once on a small fleet
# (inventory sweeps on), then once more with its restart and webhook phases (durable state in
# STATE_DIR).
# Fails only when a program fails to run; benchmark numbers are not checked.
execute_process(COMMAND ${MICRO_BENCH} --benchmark_min_time=0.01
                        "--benchmark_filter=Signature|SignRequest|Interpret|RenderMetrics/1000$"
                RESULT_VARIABLE micro_rc)
if(NOT micro_rc EQUAL 0)
  message(FATAL_ERROR "micro_bench failed: ${micro_rc}")
endif()
execute_process(COMMAND ${LOAD_BENCH} --exporter=${EXPORTER} --esims=200 --scrapes=5 --no-busy
                        --sweeps
                RESULT_VARIABLE load_rc)
if(NOT load_rc EQUAL 0)
  message(FATAL_ERROR "load_bench failed: ${load_rc}")
endif()
file(REMOVE_RECURSE ${STATE_DIR})
execute_process(COMMAND ${LOAD_BENCH} --exporter=${EXPORTER} --esims=200 --scrapes=2 --no-busy
                        --storage-dir=${STATE_DIR} --restart --webhook-deliveries=200
                RESULT_VARIABLE restart_rc)
file(REMOVE_RECURSE ${STATE_DIR})
if(NOT restart_rc EQUAL 0)
  message(FATAL_ERROR "load_bench --restart --webhook-deliveries failed: ${restart_rc}")
endif()
