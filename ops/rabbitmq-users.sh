# shellcheck shell=bash
# The RabbitMQ user of each process and what it may configure, write and read: the message-type exchanges
# (Decommission.Contracts:*) and MassTransit's fault events (MassTransit:*), its own queues (with their _error/_skipped), the queues it sends commands to, and its
# temporary bus endpoint. Used by ops/up.sh; docker-compose users can load the same rules with rabbitmqctl.
contracts='Decommission\.Contracts:.*|MassTransit:.*|.*_bus_.*'
declare -A RABBITMQ_PERMISSIONS=(
  [orchestrator]="^($contracts|Decommission\.Orchestrator\..*|retire-device.*|retirement-status.*|quarantine-device|erase-device|revoke-identity|issue-disposal-certificate)$"
  [inventory]="^($contracts|inventory.*|inventory-retirements.*|retire-device)$"
  [credentials]="^($contracts|enroll-device.*|check-credential.*|quarantine-device.*|revoke-identity.*|register-attestation-key)$"
  [device-gateway]="^($contracts|erase-device.*|register-attestation-key.*|decommission\.device.*)$"
  [certificates]="^($contracts|issue-disposal-certificate.*)$"
  [device-agent]="^(decommission\.device.*)$"
  [operator]="^($contracts|retire-device|retirement-status|inventory|enroll-device|check-credential)$"
)
