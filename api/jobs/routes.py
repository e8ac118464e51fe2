from flask.views import MethodView

from api.domain_errors import found
from api.http.auth import current_workspace_id
from api.http.blueprint import ApiBlueprint
from api.http.pagination import page_of, paginate
from api.jobs import queue
from api.jobs.models import Job
from api.jobs.schemas import JobFilterArgs, JobSchema

bp = ApiBlueprint(
    "jobs",
    __name__,
    url_prefix="/v1/jobs",
    description="Background jobs your requests started: their progress and results.",
)


@bp.route("")
class Jobs(MethodView):
    @bp.arguments(JobFilterArgs, location="query")
    @bp.response(200, page_of(JobSchema))
    def get(self, args):
        """List jobs, newest first; filter by `kind` and `status`."""
        statement = queue.in_workspace(current_workspace_id(), args)
        return paginate(statement, args, order=[(Job.id, True)])


@bp.route("/<job_id>")
class JobById(MethodView):
    @bp.response(200, JobSchema)
    def get(self, job_id):
        """One job: poll it until `status` is `succeeded` or `failed`."""
        return found(queue.get(current_workspace_id(), job_id), "job")
