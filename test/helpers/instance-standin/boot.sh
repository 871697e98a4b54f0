#!/bin/bash
# Runs inside a fresh mount namespace (unshare -m) in the instance's network namespace and turns it into an
# instance stand-in: private /run, /tmp and copy-on-write /etc, /usr, /var, /root, /opt over the host's, the
# commands of not-yet-installed packages hidden, and the stand-ins put where the image has the real tools.
# Arguments: the stand-in's directory on the host, the image (amazon-linux-2023 | ubuntu-22.04), and the
# directory of the stand-in scripts.
set -euo pipefail
dir=$1 image=$2 helpers=$3
S=/run/standin
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p "$S"
mount --bind "$dir" "$S"
mkdir -p "$S/real" "$S/repo"
# The repository (these helpers, node_modules) must stay visible at its own path, even under /tmp, which the
# stand-in replaces below: a clone of it may live anywhere.
mount --bind "$WAVESHIFT_STANDIN_REPO" "$S/repo"
# The real binaries the package stand-in hands out once their package is installed.
for cmd in node wg nft; do
  touch "$S/real/$cmd"
  mount --bind "$(command -v "$cmd")" "$S/real/$cmd"
done
pg_bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
for cmd in psql initdb postgres; do
  touch "$S/real/$cmd"
  mount --bind "$pg_bin/$cmd" "$S/real/$cmd"
done
install -m 755 "$helpers/postgresql-setup" "$S/real/postgresql-setup"
install -m 644 "$helpers/postgresql.service" "$S/real/postgresql.service"
cat > "$S/real/aws" <<AWS
#!/bin/sh
exec env NODE_NO_WARNINGS=1 WAVESHIFT_STANDIN_REPO='$WAVESHIFT_STANDIN_REPO' WAVESHIFT_STANDIN_AWS_SOCKET=$S/aws.sock $S/real/node $helpers/aws.cjs "\$@"
AWS
chmod 755 "$S/real/aws"
for d in etc usr var root opt; do
  mkdir -p "$S/upper/$d" "$S/work/$d"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$S/upper/$d,workdir=$S/work/$d" "/$d"
done
mkdir -p "$S/tmp"
chmod 1777 "$S/tmp"
mount --bind "$S/tmp" /tmp
case "$WAVESHIFT_STANDIN_REPO" in
  /tmp/*) mkdir -p "$WAVESHIFT_STANDIN_REPO" && mount --bind "$S/repo" "$WAVESHIFT_STANDIN_REPO" ;;
esac
# Hidden wherever the host has them: the images have none of these until a package brings them.
for cmd in node nodejs wg nft psql aws dnf apt-get; do
  while p=$(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin command -v "$cmd"); do rm -f "$p"; done
done
install -m 755 "$helpers/systemctl" /usr/bin/systemctl
install -m 755 "$helpers/journalctl" /usr/bin/journalctl
mkdir -p /var/log/standin /etc/systemd/system /usr/lib/systemd/system
case "$image" in
  amazon-linux-2023)
    install -m 755 "$helpers/package-manager" /usr/bin/dnf
    ln -sf "$S/real/aws" /usr/bin/aws # AL2023 ships the AWS CLI
    ln -sf bash /usr/bin/sh ;;        # and its sh is bash
  ubuntu-22.04)
    install -m 755 "$helpers/package-manager" /usr/bin/apt-get
    ln -sf dash /usr/bin/sh ;;
  *) echo "unknown image $image" >&2; exit 2 ;;
esac
touch "$S/ready"
exec sleep infinity
