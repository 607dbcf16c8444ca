variable "project_id" {
  description = "Google Cloud project that holds the cluster and the bot's service account."
  type        = string
}

variable "region" {
  description = "Region of the cluster. A region, never a zone: the cluster's location is this value, and a zone there makes the cluster zonal."
  type        = string
  default     = "us-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "The region must be a region such as us-west1, not a zone such as us-west1-a: a zone makes the cluster zonal, with one control-plane replica and no API during master upgrades."
  }
}

variable "node_zones" {
  description = "Zones of the region where the node pool runs VMs. Three, so that losing a zone leaves two."
  type        = list(string)
  default     = ["us-west1-a", "us-west1-b", "us-west1-c"]

  validation {
    condition     = length(distinct(var.node_zones)) >= 2
    error_message = "Give at least two distinct zones; three is the usual choice."
  }
}

variable "cluster_name" {
  description = "Name of the GKE cluster."
  type        = string
  default     = "prod"
}

variable "network" {
  description = "VPC network of the cluster (name or self link)."
  type        = string
  default     = "default"
}

variable "subnetwork" {
  description = "Subnetwork of the cluster in the region; null for the network's default."
  type        = string
  default     = null
}

variable "release_channel" {
  description = "GKE release channel: RAPID, REGULAR or STABLE."
  type        = string
  default     = "REGULAR"
}

variable "maintenance_recurrence" {
  description = "RFC 5545 recurrence of the maintenance window, when GKE may upgrade the control plane and nodes."
  type        = string
  default     = "FREQ=WEEKLY;BYDAY=SA,SU"
}

variable "machine_type" {
  description = "Machine type of the node pool's VMs."
  type        = string
  default     = "e2-standard-4"
}

variable "nodes_min_per_zone" {
  description = "Cluster Autoscaler lower bound, per zone."
  type        = number
  default     = 1
}

variable "nodes_max_per_zone" {
  description = "Cluster Autoscaler upper bound, per zone. The bot reports when a pool sits at it."
  type        = number
  default     = 5
}

variable "node_service_account" {
  description = "Email of the service account the nodes run as; null for the Compute Engine default."
  type        = string
  default     = null
}

variable "enable_filestore_csi" {
  description = "Enable the Filestore CSI driver (ReadWriteMany volumes). The bot does not need it: overlay ha keeps its store in PostgreSQL."
  type        = bool
  default     = false
}

variable "bot_namespace" {
  description = "Kubernetes namespace of the bot; must match deploy/kustomize."
  type        = string
  default     = "k8s-chatops"
}

variable "bot_service_account" {
  description = "Kubernetes ServiceAccount of the bot; must match deploy/kustomize."
  type        = string
  default     = "k8s-chatops"
}

variable "deletion_protection" {
  description = "Refuse to destroy the cluster from Terraform."
  type        = bool
  default     = true
}
