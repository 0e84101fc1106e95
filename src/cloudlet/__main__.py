from cloudlet.cli import main

raise SystemExit(main())
