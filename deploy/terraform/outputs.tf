output "cluster_name" {
  value = google_container_cluster.this.name
}

output "cluster_location" {
  description = "A region: the cluster is regional."
  value       = google_container_cluster.this.location
}

output "get_credentials" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "gcloud container clusters get-credentials ${google_container_cluster.this.name} --region ${google_container_cluster.this.location} --project ${var.project_id}"
}

output "bot_gcp_service_account" {
  description = "Value of the iam.gke.io/gcp-service-account annotation on the bot's Kubernetes ServiceAccount."
  value       = google_service_account.k8s_chatops.email
}

output "node_network_tag" {
  description = "Network tag of the nodes, targeted by the IAP SSH firewall rule."
  value       = local.node_tag
}

output "bot_cluster_config" {
  description = "The clusters entry for the bot's config.yaml."
  value = yamlencode([{
    name       = google_container_cluster.this.name
    in_cluster = true
    gke = {
      project  = var.project_id
      location = google_container_cluster.this.location
      cluster  = google_container_cluster.this.name
    }
    cloud_logging = true
  }])
}
