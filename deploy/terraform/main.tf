# A regional GKE cluster for k8s-chatops (and whatever else runs there), the
# Google service account the bot acts as through Workload Identity, and the
# firewall rule that lets `gcloud compute ssh --tunnel-through-iap` reach
# the nodes.

locals {
  # The tag the IAP firewall rule targets.
  node_tag = "${var.cluster_name}-node"

  # Read-only: cluster and operation state, instance groups and VMs (to find
  # node-pool VMs that never registered), and component logs.
  bot_roles = [
    "roles/container.viewer",
    "roles/compute.viewer",
    "roles/logging.viewer",
  ]

  workload_pool = "${var.project_id}.svc.id.goog"
}

resource "google_container_cluster" "this" {
  name    = var.cluster_name
  project = var.project_id

  # Keep this line, and keep it a region. It decides what kind of cluster
  # this is: with a region the control plane is replicated across the
  # region's zones and stays up while GKE upgrades it; with a zone (or
  # without the line, when the provider's default zone is used) the cluster
  # is zonal: one control-plane replica in one zone, and no Kubernetes API
  # during master upgrades. This line was once removed as "redundant"; the
  # cluster came back zonal, node-pool VMs outside the control plane's zone
  # never registered as nodes, and pods stayed Pending for lack of nodes.
  # It also cannot be changed later without recreating the cluster.
  location = var.region

  # The default pool cannot be managed well here; the pool below replaces it.
  remove_default_node_pool = true
  initial_node_count       = 1

  network    = var.network
  subnetwork = var.subnetwork

  release_channel {
    channel = var.release_channel
  }

  # Workload Identity: pods authenticate as Google service accounts.
  workload_identity_config {
    workload_pool = local.workload_pool
  }

  maintenance_policy {
    recurring_window {
      start_time = "2025-01-04T03:00:00Z"
      end_time   = "2025-01-04T09:00:00Z"
      recurrence = var.maintenance_recurrence
    }
  }

  # kubelet, kube-proxy and the autoscaler's decisions in Cloud Logging,
  # where the bot's `logs` command reads them.
  logging_config {
    enable_components = ["SYSTEM_COMPONENTS", "WORKLOADS"]
  }

  addons_config {
    gcp_filestore_csi_driver_config {
      enabled = var.enable_filestore_csi
    }
  }

  deletion_protection = var.deletion_protection
}

resource "google_container_node_pool" "default" {
  name     = "default"
  project  = var.project_id
  cluster  = google_container_cluster.this.name
  location = var.region

  # VMs in every listed zone; the autoscaler bounds below apply per zone.
  node_locations     = var.node_zones
  initial_node_count = max(1, var.nodes_min_per_zone)

  autoscaling {
    min_node_count = var.nodes_min_per_zone
    max_node_count = var.nodes_max_per_zone
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  upgrade_settings {
    max_surge       = 1
    max_unavailable = 0
  }

  node_config {
    machine_type    = var.machine_type
    service_account = var.node_service_account
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    tags            = [local.node_tag]

    # Pods see the GKE metadata server, which hands out Workload Identity
    # tokens, not the node's own credentials.
    workload_metadata_config {
      mode = "GKE_METADATA"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
  }

  lifecycle {
    # The autoscaler owns the size after creation.
    ignore_changes = [initial_node_count]

    precondition {
      condition     = alltrue([for zone in var.node_zones : startswith(zone, "${var.region}-")])
      error_message = "Every zone in node_zones must belong to the region."
    }
  }
}

# The identity of the bot in Google Cloud.
resource "google_service_account" "k8s_chatops" {
  project      = var.project_id
  account_id   = "k8s-chatops"
  display_name = "k8s-chatops Slack bot (read-only)"
}

resource "google_project_iam_member" "k8s_chatops" {
  for_each = toset(local.bot_roles)

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.k8s_chatops.email}"
}

# The one read the viewer roles above leave out: a VM's serial port output
# (its console), which the evidence of an unregistered-VM incident quotes.
# Without it, that evidence names the refusal instead of the console.
resource "google_project_iam_custom_role" "k8s_chatops_console" {
  project     = var.project_id
  role_id     = "k8sChatopsConsoleReader"
  title       = "k8s-chatops console reader"
  description = "Read the serial port output of the node-pool VMs"
  permissions = ["compute.instances.getSerialPortOutput"]
}

resource "google_project_iam_member" "k8s_chatops_console" {
  project = var.project_id
  role    = google_project_iam_custom_role.k8s_chatops_console.id
  member  = "serviceAccount:${google_service_account.k8s_chatops.email}"
}

# Lets the Kubernetes ServiceAccount k8s-chatops/k8s-chatops act as the
# Google service account above. The workload pool exists once the cluster
# has Workload Identity, hence the dependency.
resource "google_service_account_iam_member" "k8s_chatops_workload_identity" {
  service_account_id = google_service_account.k8s_chatops.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${local.workload_pool}[${var.bot_namespace}/${var.bot_service_account}]"

  depends_on = [google_container_cluster.this]
}

# SSH to nodes through Identity-Aware Proxy: IAP's TCP forwarding connects
# from this range. Nodes need no public address; the person connecting needs
# roles/iap.tunnelResourceAccessor (and OS Login or instance access).
resource "google_compute_firewall" "iap_ssh" {
  name      = "${var.cluster_name}-allow-iap-ssh"
  project   = var.project_id
  network   = var.network
  direction = "INGRESS"

  source_ranges = ["35.235.240.0/20"]
  target_tags   = [local.node_tag]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}
