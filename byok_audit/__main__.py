from byok_audit.cli import main

main()
