#!/bin/sh
# Runs inside the build container: installs a tiny "application" that prints its config.
set -e
mkdir -p /usr/bin
cat > /usr/bin/myapp <<'APP'
#!/bin/sh
echo "myapp: using ${MYAPP_CONFIG:-/etc/myapp/config.json}"
cat "${MYAPP_CONFIG:-/etc/myapp/config.json}"
APP
chmod 0755 /usr/bin/myapp
echo "installed /usr/bin/myapp"
