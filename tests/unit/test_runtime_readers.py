"""The runtime readers on what real runtimes wrote (fixtures/runtimes, captured here), and
their pure parts as request -> result tables: bbolt, Podman's and containerd's state, CRI
annotations, cgroup paths, containerd's and CRI-O's configuration."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from netscope.collect.workloads import merge_workloads
from netscope.host import containerd, cri, crio, oci, podman
from netscope.host.bolt import BoltError, BoltFile
from netscope.model import Container

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "runtimes"


def bolt(name: str) -> BoltFile:
    return BoltFile(gzip.decompress((FIXTURES / name).read_bytes()))


def test_bolt_reads_podmans_state_database():
    db = bolt("podman-bolt_state.db.gz")
    names = db.root.bucket(b"all-ctrs").values()
    assert sorted(names.values()) == [b"0b859d61e27e-infra", b"nsexp-app", b"nsexp-c1"]
    pod = db.root.bucket(b"pod").buckets()
    (_pod_id, bucket), = pod.items()
    assert json.loads(bucket.get(b"config"))["name"] == "nsexp-pod"
    # a nested bucket inline in its parent's leaf (one key): the pod's containers
    assert sorted(bucket.bucket(b"containers").values().values()) == [
        b"0b859d61e27e-infra", b"nsexp-app"]


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


def test_bolt_rejects_what_is_not_a_database():
    data = gzip.decompress((FIXTURES / "podman-bolt_state.db.gz").read_bytes())
    for broken in (b"", b"x" * 8192, _flip(_flip(data, 40), 4096 + 40)):
        with pytest.raises(BoltError):
            BoltFile(broken)
    # one meta page damaged: the other one is used, as bbolt does
    one = BoltFile(_flip(data, 40))
    assert len(one.root.bucket(b"ctr").buckets()) == 3


def test_a_truncated_database_fails_in_one_line_not_a_traceback(tmp_path):
    data = gzip.decompress((FIXTURES / "podman-bolt_state.db.gz").read_bytes())
    (tmp_path / "bolt_state.db").write_bytes(data[:3 * 4096])
    with pytest.raises(BoltError, match=r"outside the file|changed while being read"):
        db = BoltFile.open(str(tmp_path / "bolt_state.db"))
        for _cid, bucket in db.root.bucket(b"ctr").buckets().items():
            bucket.get(b"config")


def test_podman_records_from_its_state():
    records, pods = podman._from_state(bolt("podman-bolt_state.db.gz"))
    by_name = {r.name: r for r in records}
    assert by_name["nsexp-c1"].ports == ("0.0.0.0:18080->80/tcp",)
    assert by_name["nsexp-c1"].networks == ("podman",)
    assert by_name["nsexp-c1"].image == "localhost/nsexp/busybox:latest"
    assert by_name["nsexp-c1"].pid == 27215 and by_name["nsexp-c1"].pod is None
    infra = by_name["0b859d61e27e-infra"]
    assert pods == [{"id": infra.pod, "name": "nsexp-pod", "infra": infra.cid, "labels": {}}]
    assert by_name["nsexp-app"].pod == infra.pod and by_name["nsexp-app"].networks == ()
    assert infra.ports == ("0.0.0.0:18081->80/tcp",)


def test_podman_with_a_broken_state_file_reports_it_and_goes_on(tmp_path, monkeypatch):
    (tmp_path / "bolt_state.db").write_bytes(b"\0" * 10000)
    monkeypatch.setattr(podman, "static_dir", lambda: str(tmp_path))
    monkeypatch.setenv("CONTAINER_HOST", f"unix://{tmp_path}/no.sock")
    found = podman.read(self_inode=1)
    assert found.containers == [] and len(found.problems) == 1
    assert found.problems[0].startswith(f"Podman's state {tmp_path}/bolt_state.db not read")


@pytest.mark.parametrize("conf, expected", [
    ("[engine]\nstatic_dir = \"/srv/podman\"\n", "/srv/podman"),
    ("[engine\nstatic_dir = ", podman.STATIC_DIR),  # not TOML: the default, no crash
    ("[containers]\ndefault_ulimits = []\n", podman.STATIC_DIR),
])
def test_podman_static_dir_from_containers_conf(tmp_path, monkeypatch, conf, expected):
    (tmp_path / "c.conf").write_text(conf)
    monkeypatch.setenv("CONTAINERS_CONF", str(tmp_path / "c.conf"))
    monkeypatch.setattr(podman, "CONTAINERS_CONF", ())
    assert podman.static_dir() == expected


@pytest.mark.parametrize("port, text", [
    ({"host_ip": "", "container_port": 80, "host_port": 8080, "range": 1, "protocol": "tcp"},
     "0.0.0.0:8080->80/tcp"),
    ({"host_ip": "::1", "container_port": 53, "host_port": 5353, "range": 1,
      "protocol": "udp"}, "[::1]:5353->53/udp"),
    ({"host_ip": "10.0.0.1", "container_port": 80, "host_port": 8080, "range": 3,
      "protocol": "tcp"}, "10.0.0.1:8080-8082->80-82/tcp"),
    ({"container_port": 80}, None),
])
def test_podman_port_text(port, text):
    assert podman.port_text(port) == text


def test_containerd_labels_and_image_from_its_metadata():
    meta = containerd.namespace_containers(bolt("containerd-meta.db.gz"), "k8s.io")
    assert sorted(meta) == [b"app1abc", b"sandbox1abc"]
    labels, image = containerd._container_meta(meta[b"sandbox1abc"])
    assert image == "localhost/netscope-test/busybox:latest"
    assert labels["io.kubernetes.pod.name"] == "web-0"
    assert labels["io.cri-containerd.kind"] == "sandbox"
    assert containerd.namespace_containers(bolt("containerd-meta.db.gz"), "moby") == {}
    assert containerd._container_meta(None) == ({}, "")


def test_containerd_sandbox_spec_names_the_pod_and_its_namespace_file():
    spec = json.loads((FIXTURES / "containerd-sandbox-config.json").read_text())
    ident = cri.kube_identity(oci.spec_annotations(spec))
    assert (ident.kind, ident.pod_namespace, ident.pod_name, ident.pod_uid) == (
        "sandbox", "shop", "web-0", "1111-2222")
    assert oci.spec_netns_path(spec) == "/run/netns/nsexp-cni1"


@pytest.mark.parametrize("annotations, labels, expected", [
    # containerd's CRI plugin, a pod's container
    ({"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "s1",
      "io.kubernetes.cri.sandbox-name": "web-0", "io.kubernetes.cri.sandbox-namespace": "shop",
      "io.kubernetes.cri.sandbox-uid": "u1", "io.kubernetes.cri.container-name": "app",
      "io.kubernetes.cri.image-name": "img"}, {},
     ("container", "s1", "web-0", "shop", "u1", "app", "img")),
    # CRI-O: its own keys and kubelet's labels copied into the annotations
    ({"io.kubernetes.cri-o.ContainerType": "sandbox", "io.kubernetes.cri-o.SandboxID": "s2",
      "io.kubernetes.pod.name": "db-0", "io.kubernetes.pod.namespace": "shop",
      "io.kubernetes.pod.uid": "u2", "io.kubernetes.container.name": "POD"}, {},
     ("sandbox", "s2", "db-0", "shop", "u2", None, None)),
    # labels only (containerd's container labels from kubelet and the CRI plugin)
    ({}, {"io.cri-containerd.kind": "container", "io.kubernetes.pod.name": "w",
          "io.kubernetes.pod.namespace": "n", "io.kubernetes.container.name": "c"},
     ("container", None, "w", "n", None, "c", None)),
    # Podman writes CRI-O's type and sandbox id into a pod container's spec, no pod name:
    # still a pod member (the reader that owns it knows the pod)
    ({"io.kubernetes.cri-o.ContainerType": "container",
      "io.kubernetes.cri-o.SandboxID": "infra"}, {},
     ("container", "infra", None, None, None, None, None)),
    ({"io.kubernetes.cri-o.ContainerType": "sandbox"}, {}, None),  # a sandbox without a pod
    ({"io.podman.annotations.init": "FALSE"}, {}, None),
])
def test_kube_identity(annotations, labels, expected):
    ident = cri.kube_identity(annotations, labels)
    assert (None if ident is None else (
        ident.kind, ident.sandbox_id, ident.pod_name, ident.pod_namespace, ident.pod_uid,
        ident.container_name, ident.image)) == expected


ID = "0123456789abcdef" * 4
POD = "fedcba9876543210" * 4


@pytest.mark.parametrize("cgroup, expected", [
    (f"0::/system.slice/docker-{ID}.scope\n", ("docker", ID)),
    (f"12:pids:/docker/{ID}\n", ("docker", ID)),
    (f"9:name=systemd:/libpod_parent/{POD}/libpod-{ID}\n", ("podman", ID)),  # a pod member
    (f"0::/machine.slice/libpod-{ID}.scope/container\n", ("podman", ID)),
    (f"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/"
     f"crio-{ID}.scope\n", ("cri-o", ID)),
    (f"0::/kubepods-burstable-pod2.slice:cri-containerd:{ID}\n", ("containerd", ID)),
    (f"0::/kubepods/besteffort/pod3/{ID}\n", ("", ID)),
    ("0::/user.slice/user-0.slice/session-1.scope\n", None),
])
def test_parse_cgroup(cgroup, expected):
    assert oci.parse_cgroup(cgroup) == expected


def test_containerd_instance_from_its_command_line_and_config(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('version = 2\nroot = "/srv/ctrd/root"\nstate = "/srv/ctrd/state"\n'
                      '[grpc]\n  address = "/srv/ctrd/s.sock"\n'
                      '[plugins."io.containerd.grpc.v1.cri".cni]\n  conf_dir = "/srv/cni"\n')
    assert containerd.instance_from_argv(["containerd", "--config", str(config)]) == \
        containerd.Instance("/srv/ctrd/state", "/srv/ctrd/root", "/srv/ctrd/s.sock", "/srv/cni")
    assert containerd.instance_from_argv(
        ["containerd", f"--config={config}", "--state", "/x", "-a", "/y.sock"]) == \
        containerd.Instance("/x", "/srv/ctrd/root", "/y.sock", "/srv/cni")
    assert containerd.instance_from_argv(["containerd", "-c", str(tmp_path / "none")]) == \
        containerd.Instance()


def test_crio_reads_its_sandboxes_and_leaves_podmans_containers(tmp_path):
    def container(cid: str, annotations: dict, pid: int) -> None:
        userdata = tmp_path / "overlay-containers" / cid / "userdata"
        userdata.mkdir(parents=True)
        (userdata / "config.json").write_text(json.dumps({
            "annotations": annotations, "linux": {"namespaces": [{"type": "network"}]}}))
        (userdata / "pidfile").write_text(str(pid))

    container("a" * 64, {
        "io.kubernetes.cri-o.ContainerType": "sandbox", "io.kubernetes.cri-o.SandboxID": "a" * 64,
        "io.kubernetes.pod.name": "db-0", "io.kubernetes.pod.namespace": "shop",
        "io.kubernetes.pod.uid": "u", "io.container.manager": "cri-o",
        "io.kubernetes.cri-o.PortMappings":
            '[{"HostPort":8080,"ContainerPort":80,"Protocol":"TCP","HostIP":""}]'},
        os.getpid())
    container("b" * 64, {
        "io.kubernetes.cri-o.ContainerType": "container", "io.kubernetes.cri-o.SandboxID": "a" * 64,
        "io.kubernetes.pod.name": "db-0", "io.kubernetes.pod.namespace": "shop",
        "io.kubernetes.cri-o.ContainerName": "k8s_postgres_db-0_shop_u_0",
        "io.kubernetes.container.name": "postgres"}, os.getpid())
    container("c" * 64, {  # Podman's, in the same storage
        "io.kubernetes.cri-o.ContainerType": "container", "io.podman.annotations.init": "FALSE",
        "io.kubernetes.pod.name": "x"}, os.getpid())
    found = crio.read(self_inode=1, roots=[str(tmp_path)])
    (pod,) = found.pods
    assert (pod.display_name, pod.runtime, pod.ports) == (
        "shop/db-0", "cri-o", ("0.0.0.0:8080->80/tcp",))
    assert sorted(c.name for c in found.containers) == ["POD", "postgres"]
    member = next(c for c in found.containers if c.name == "postgres")
    assert member.pod == pod.id and member.shares_netns_with == pod.infra_container
    assert member.netns == pod.netns is not None


def test_crio_runroot_and_cni_directory_from_its_config(tmp_path):
    conf = tmp_path / "crio.conf"
    conf.write_text('[crio]\nrunroot = "/srv/run"\n[crio.network]\nnetwork_dir = "/srv/cni"\n')
    argv = ["crio", "--config", str(conf)]
    assert crio.runroot_from_argv(argv) == "/srv/run"
    assert crio.network_dir_from_argv(argv) == "/srv/cni"
    assert crio.runroot_from_argv([*argv, "--runroot=/other"]) == "/other"
    assert crio.runroots([]) == [crio.DEFAULT_RUNROOT]


def _container(cid: str, runtime: str, **kw) -> Container:
    return Container(id=f"container:{runtime}/{cid}", container_id=cid, name=kw.pop("name", cid),
                     image="", pid=1, netns="ns:1", network_mode="bridge", runtime=runtime, **kw)


def test_one_record_per_container_the_best_informed_runtime_wins():
    docker = _container("d" * 64, "docker", name="web")
    moby = _container("d" * 64, "containerd", runtime_namespace="moby")
    via_compat = _container("e" * 64, "docker", name="db")  # DOCKER_HOST at Podman's socket
    own = _container("e" * 64, "podman", name="db", pod="pod:podman/p")
    joined = _container("f" * 64, "containerd", runtime_namespace="moby",
                        shares_netns_with=f"container:containerd/moby/{'d' * 64}")
    containers, _pods = merge_workloads([moby, docker, via_compat, own, joined], [])
    assert [(c.runtime, c.name) for c in containers] == [
        ("podman", "db"), ("containerd", "f" * 64), ("docker", "web")]
    # the one that joined a dropped duplicate now names the survivor
    assert containers[1].shares_netns_with == docker.id
