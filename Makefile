# Entry points only; the logic lives in forktool/ (python -m forktool --help).
SERIES ?= 2025.1
PY ?= python3
FORCE ?=
FT = $(PY) -m forktool

.PHONY: fork export apply rebase port publish matrix venv venv-upstream test unit unit-full cover mypy lint pep8 tox bench drill

fork:            ## materialise build/$(SERIES)/: upstream import + patches
	$(FT) fork --series $(SERIES) $(if $(FORCE),--force)
export:          ## write build/$(SERIES)/ commits back to patches/$(SERIES)/
	$(FT) export --series $(SERIES)
apply:           ## the queue onto your checkout: make apply ONTO=path [DRY_RUN=1]
	$(FT) apply --series $(SERIES) --onto $(ONTO) $(if $(DRY_RUN),--dry-run)
rebase:          ## a new upstream release: make rebase TO=v SHA256=h (or CONTINUE=1, ABORT=1)
	$(FT) rebase --series $(SERIES) $(if $(TO),--to $(TO) --sha256 $(SHA256)) $(if $(CONTINUE),--continue) $(if $(ABORT),--abort)
venv:            ## build/venv-$(SERIES)/: the lock + the tree, editable
	$(FT) venv --series $(SERIES)
venv-upstream:   ## build/venv-upstream-$(SERIES)/: the lock + pristine sdist
	$(FT) venv --series $(SERIES) --upstream
test:            ## the README's test command (what CI runs)
	$(FT) test --series $(SERIES)
unit:            ## the fast cinder unit slice our patches touch
	$(FT) unit --series $(SERIES)
unit-full:       ## the whole cinder unit suite (stestr, parallel)
	$(FT) unit --series $(SERIES) --full
cover:           ## the unit slice under coverage: coverage of the lines the patches add (>= 95 %)
	$(FT) cover --series $(SERIES)
mypy:            ## tox -e mypy's check; fails on errors the pristine tree lacks
	$(FT) mypy --series $(SERIES)
lint:            ## flake8 (pyflakes, pycodestyle) on our own code
	$(FT) lint --series $(SERIES)
pep8:            ## tox -e pep8's checks on the tree
	$(FT) pep8 --series $(SERIES)
tox:             ## the tree's own tox pinned to the lock: make tox ARGS="-e py3"
	$(FT) tox --series $(SERIES) -- $(ARGS)
bench:           ## benchmarks, patched vs upstream side by side (needs make fork venv)
	build/venv-$(SERIES)/bin/python bench/worker_heartbeat.py
	build/venv-$(SERIES)/bin/python bench/parent_cpu.py 60
port:            ## this series' queue from another: make port SERIES=2024.1 FROM=2025.1
	$(FT) port --series $(SERIES) --from $(FROM)
publish:         ## the repository LOCI clones: make publish [TO=dir-or-url]
	$(FT) publish --series $(SERIES) $(if $(TO),--to $(TO))
matrix:          ## every series: fork, venv, pep8, unit slice, drill core (quick)
	$(FT) matrix
drill:           ## the rolling-update drill, full durations, patched vs upstream
	$(MAKE) fork venv venv-upstream
	$(PY) -m forktool tools-venv --series $(SERIES)
	DRILL_SERIES=$(SERIES) build/venv-tools/bin/python -m drill run --out build/drill
