"""Slack adapter: the bolt app mounted at /slack/events, Block Kit rendering, the outbox sender."""

from adapters.slack.app import SlackBolt, build_slack_app, mount_slack
from adapters.slack.render import fallback, render
from adapters.slack.sender import SlackSender
from adapters.slack.settings import SlackSettings

__all__ = [
    "SlackBolt",
    "SlackSender",
    "SlackSettings",
    "build_slack_app",
    "fallback",
    "mount_slack",
    "render",
]
