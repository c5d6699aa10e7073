"""Command line of the statistics area: ``flask --app backoffice rebuild-summary``."""

import click

from .extensions import db


def register_commands(app):
    from . import summary_jobs  # noqa: F401  (registers the recompute task with the queue)

    @app.cli.command("rebuild-summary")
    def rebuild_summary():
        """Recompute the person-year summary and its roll-up from the records."""
        from . import summary

        counts = summary.rebuild()
        db.session.commit()
        click.echo(f"人员年度汇总 {counts['person_years']} 行，统计单元 {counts['cells']} 行，已重新计算。")
