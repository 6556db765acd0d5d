from driver_monitor.cli import main

raise SystemExit(main())
