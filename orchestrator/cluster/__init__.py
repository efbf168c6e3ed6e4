"""Cluster: KubeRay manifests rendered and checked against the CRDs."""
