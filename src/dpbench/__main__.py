from dpbench.cli import main

raise SystemExit(main())
