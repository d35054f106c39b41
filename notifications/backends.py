"""
The database task backend of Casebook: django_tasks_db's, writing its row cheaper.

Nearly every change of a case enqueues a task in the change's transaction;
the row is written with a statement compiled once (see portal.rows), and the
result of the enqueue is built once instead of twice.
"""

from typing import Any

import django_tasks_db
from django.tasks import Task, TaskResult
from django.tasks.signals import task_enqueued
from django.utils.json import normalize_json
from django_tasks_db.models import DBTaskResult

from portal import rows


class DatabaseBackend(django_tasks_db.DatabaseBackend):
    def _task_to_db_task(self, task: Task, args: Any, kwargs: Any) -> DBTaskResult:  # type: ignore[type-arg]
        result: DBTaskResult = DBTaskResult(
            id=self._get_id(),
            args_kwargs=normalize_json({"args": args, "kwargs": kwargs}),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            run_after=task.run_after,  # type: ignore[misc]
            backend_name=self.alias,
        )
        rows.insert(result)
        return result

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:  # type: ignore[type-arg,override]
        self.validate_task(task)
        result = self._task_to_db_task(task, args, kwargs).task_result
        task_enqueued.send(type(self), task_result=result)
        return result
